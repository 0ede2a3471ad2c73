// proxy_wifi.hpp: header-only C++ layer over the proxy-wifi C ABI (proxy_wifi.h), C++17.
//
// It has the shape of the original proxy_wifi C++ API (namespace ProxyWifi,
// BuildProxyWifiService, ProxyWifiService::Start/Stop, ProxyWifiObserver with virtual
// callbacks, WifiNetworkInfo, OperationType, OperationStatus, Authorization, the Hyper-V
// and TCP settings), so an application written against the original ports by changing
// its includes and linking proxy_wifi_capi. Guide and differences: docs/capi.md.
//
// Threads: observer methods run on the service's observer thread, one at a time; the
// fake-network provider runs on a service worker thread. Neither may call Stop() or
// destroy the service. Observer methods are noexcept, as in the original; an exception
// thrown by the fake-network provider is caught (no network listed that time).
// Start() throws ProxyWifi::Error when the service cannot start.
#pragma once

#include "proxy_wifi.h"

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#ifdef _WIN32
#include <windows.h>
#include <wlantypes.h>
#include <windot11.h>
#endif

namespace ProxyWifi {

#ifndef _WIN32
/// The Windows types of the original API, for other systems (same fields).
struct GUID
{
    uint32_t Data1;
    uint16_t Data2;
    uint16_t Data3;
    uint8_t Data4[8];
};
/// An SSID: length and up to 32 bytes.
struct DOT11_SSID
{
    uint32_t uSSIDLength;
    uint8_t ucSSID[32];
};
/// A BSSID.
using DOT11_MAC_ADDRESS = uint8_t[6];
/// Authentication algorithms (values of Windows' DOT11_AUTH_ALGORITHM).
enum DOT11_AUTH_ALGORITHM
{
    DOT11_AUTH_ALGO_80211_OPEN = 1,
    DOT11_AUTH_ALGO_RSNA_PSK = 7,
    DOT11_AUTH_ALGO_WPA3_SAE = 9,
};
#endif

/// Real host interfaces (Normal) or one simulated interface (Simulated).
enum class OperationMode
{
    Normal,
    Simulated,
};

/// Outcome of a guest operation.
enum class OperationStatus
{
    Succeeded,
    Failed,
    Denied
};

/// Whether the host acts for the guest or the guest mirrors the host.
enum class OperationType
{
    GuestDirected,
    HostMirroring
};

/// A network of the fake-network provider.
struct WifiNetworkInfo
{
    WifiNetworkInfo() = default;
    WifiNetworkInfo(const DOT11_SSID& ssid_, const DOT11_MAC_ADDRESS& bssid_) : ssid(ssid_)
    {
        std::memcpy(bssid, bssid_, sizeof bssid);
    }
    DOT11_SSID ssid = {};
    DOT11_MAC_ADDRESS bssid = {};
};

/// The application's callbacks. Every method has a default (nothing; Approve).
class ProxyWifiObserver
{
public:
    virtual ~ProxyWifiObserver() = default;

    struct ConnectRequestArgs
    {
        DOT11_SSID ssid;
    };
    struct ConnectCompleteArgs
    {
        GUID interfaceGuid;
        DOT11_SSID ssid;
        DOT11_AUTH_ALGORITHM authAlgo;
    };
    struct DisconnectRequestArgs
    {
        DOT11_SSID ssid;
    };
    struct DisconnectCompleteArgs
    {
        GUID interfaceGuid;
        DOT11_SSID ssid;
    };
    enum class Authorization
    {
        Approve,
        Deny
    };

    virtual void OnHostConnection(const ConnectCompleteArgs& /* connectionInfo */) noexcept {}
    virtual void OnHostDisconnection(const DisconnectCompleteArgs& /* disconnectionInfo */) noexcept {}
    virtual Authorization AuthorizeGuestConnectionRequest(OperationType /* type */, const ConnectRequestArgs& /* connectionInfo */) noexcept
    {
        return Authorization::Approve;
    }
    virtual void OnGuestConnectionCompletion(OperationType /* type */, OperationStatus /* status */, const ConnectCompleteArgs& /* connectionInfo */) noexcept {}
    virtual void OnGuestDisconnectionRequest(OperationType /* type */, const DisconnectRequestArgs& /* connectionInfo */) noexcept {}
    virtual void OnGuestDisconnectionCompletion(OperationType /* type */, OperationStatus /* status */, const DisconnectCompleteArgs& /* disconnectionInfo */) noexcept {}
    virtual void OnGuestScanRequest() noexcept {}
    virtual void OnGuestScanCompletion(OperationStatus /* status */) noexcept {}
};

/// The fake-network callback: the networks to simulate now.
using FakeNetworkProvider = std::function<std::vector<WifiNetworkInfo>()>;

/// The interface id under which the fake networks are reported.
constexpr GUID FakeInterfaceGuid{0x1b57e649, 0xa1df, 0x482f, {0x85, 0xc2, 0xa1, 0x60, 0x63, 0x83, 0x64, 0x18}};
constexpr unsigned short RequestResponsePortDefault = 12345;
constexpr unsigned short NotificationPortDefault = 12346;

/// Hyper-V sockets transport (Windows hosts): serve the VM `guestVmId`.
struct ProxyWifiHyperVSettings
{
    ProxyWifiHyperVSettings(const GUID& guestVmId, unsigned short requestResponsePort, unsigned short notificationPort, OperationMode mode)
        : RequestResponsePort(requestResponsePort), NotificationPort(notificationPort), GuestVmId(guestVmId), ProxyMode(mode)
    {
    }
    explicit ProxyWifiHyperVSettings(const GUID& guestVmId) : GuestVmId(guestVmId) {}

    unsigned short RequestResponsePort = RequestResponsePortDefault;
    unsigned short NotificationPort = NotificationPortDefault;
    const GUID GuestVmId{};
    const OperationMode ProxyMode = OperationMode::Normal;
};

/// TCP transport (tests): listen on `listenIp`; notifications go to the same address.
struct ProxyWifiTcpSettings
{
    ProxyWifiTcpSettings(std::string listenIp, unsigned short requestResponsePort, unsigned short notificationPort, OperationMode mode)
        : RequestResponsePort(requestResponsePort), NotificationPort(notificationPort), ListenIp(std::move(listenIp)), ProxyMode(mode)
    {
    }
    explicit ProxyWifiTcpSettings(std::string listenIp) : ListenIp(std::move(listenIp)) {}

    unsigned short RequestResponsePort = RequestResponsePortDefault;
    unsigned short NotificationPort = NotificationPortDefault;
    const std::string ListenIp;
    const OperationMode ProxyMode = OperationMode::Normal;
};

/// A service. Destroying it stops it.
class ProxyWifiService
{
public:
    virtual ~ProxyWifiService() = default;
    /// Binds the transport and starts serving. Throws ProxyWifi::Error on failure.
    virtual void Start() = 0;
    /// Stops serving (blocks until in-flight requests and callbacks are done).
    virtual void Stop() = 0;
};

/// A failure of the C ABI: its code (PWIFI_ERR_*) and message.
class Error : public std::runtime_error
{
public:
    Error(pwifi_result code, const std::string& message) : std::runtime_error(message), m_code(code) {}
    pwifi_result Code() const noexcept { return m_code; }

private:
    pwifi_result m_code;
};

namespace detail {

inline void Check(pwifi_result rc, const char* what)
{
    if (rc == PWIFI_OK)
        return;
    std::string message(pwifi_last_error(nullptr, 0) + 1, '\0');
    message.resize(pwifi_last_error(&message[0], message.size()));
    throw Error(rc, std::string(what) + ": " + message);
}

inline DOT11_SSID ToSsid(const uint8_t* data, size_t len) noexcept
{
    DOT11_SSID ssid{};
    ssid.uSSIDLength = static_cast<decltype(ssid.uSSIDLength)>(len > 32 ? 32 : len);
    if (ssid.uSSIDLength > 0)
        std::memcpy(ssid.ucSSID, data, ssid.uSSIDLength);
    return ssid;
}

inline GUID ToGuid(const uint8_t bytes[16]) noexcept
{
    GUID guid{};
    guid.Data1 = (uint32_t(bytes[0]) << 24) | (uint32_t(bytes[1]) << 16) | (uint32_t(bytes[2]) << 8) | bytes[3];
    guid.Data2 = static_cast<uint16_t>((bytes[4] << 8) | bytes[5]);
    guid.Data3 = static_cast<uint16_t>((bytes[6] << 8) | bytes[7]);
    std::memcpy(guid.Data4, bytes + 8, 8);
    return guid;
}

inline void FromGuid(const GUID& guid, uint8_t bytes[16]) noexcept
{
    bytes[0] = static_cast<uint8_t>(guid.Data1 >> 24);
    bytes[1] = static_cast<uint8_t>(guid.Data1 >> 16);
    bytes[2] = static_cast<uint8_t>(guid.Data1 >> 8);
    bytes[3] = static_cast<uint8_t>(guid.Data1);
    bytes[4] = static_cast<uint8_t>(guid.Data2 >> 8);
    bytes[5] = static_cast<uint8_t>(guid.Data2);
    bytes[6] = static_cast<uint8_t>(guid.Data3 >> 8);
    bytes[7] = static_cast<uint8_t>(guid.Data3);
    std::memcpy(bytes + 8, guid.Data4, 8);
}

inline DOT11_AUTH_ALGORITHM ToAuthAlgo(pwifi_auth auth) noexcept
{
    switch (auth)
    {
    case PWIFI_AUTH_WPA2_PSK:
        return DOT11_AUTH_ALGO_RSNA_PSK;
    case PWIFI_AUTH_WPA3_SAE:
        return DOT11_AUTH_ALGO_WPA3_SAE;
    default:
        return DOT11_AUTH_ALGO_80211_OPEN;
    }
}

inline OperationType ToType(pwifi_operation_type kind) noexcept
{
    return kind == PWIFI_OPERATION_HOST_MIRRORING ? OperationType::HostMirroring : OperationType::GuestDirected;
}

inline OperationStatus ToStatus(pwifi_operation_status status) noexcept
{
    return status == PWIFI_STATUS_SUCCEEDED ? OperationStatus::Succeeded
           : status == PWIFI_STATUS_DENIED  ? OperationStatus::Denied
                                            : OperationStatus::Failed;
}

inline ProxyWifiObserver::ConnectCompleteArgs ToCompleteArgs(const pwifi_connection* c) noexcept
{
    ProxyWifiObserver::ConnectCompleteArgs args{};
    if (c->has_interface)
        args.interfaceGuid = ToGuid(c->interface_id);
    args.ssid = ToSsid(c->ssid, c->ssid_len);
    args.authAlgo = ToAuthAlgo(c->auth);
    return args;
}

inline ProxyWifiObserver::DisconnectCompleteArgs ToDisconnectArgs(const uint8_t interfaceId[16], const uint8_t* ssid, size_t len) noexcept
{
    ProxyWifiObserver::DisconnectCompleteArgs args{};
    args.interfaceGuid = ToGuid(interfaceId);
    args.ssid = ToSsid(ssid, len);
    return args;
}

// Trampolines from the C callbacks to the observer's virtual methods.
inline ProxyWifiObserver* Observer(void* userData) noexcept
{
    return static_cast<ProxyWifiObserver*>(userData);
}

extern "C" {
inline void OnHostConnection(void* u, const pwifi_connection* c)
{
    Observer(u)->OnHostConnection(ToCompleteArgs(c));
}
inline void OnHostDisconnection(void* u, const pwifi_connection* c)
{
    Observer(u)->OnHostDisconnection(ToDisconnectArgs(c->interface_id, c->ssid, c->ssid_len));
}
inline pwifi_authorization Authorize(void* u, pwifi_operation_type kind, const pwifi_connect_request* r)
{
    const ProxyWifiObserver::ConnectRequestArgs args{ToSsid(r->ssid, r->ssid_len)};
    return Observer(u)->AuthorizeGuestConnectionRequest(ToType(kind), args) == ProxyWifiObserver::Authorization::Approve
               ? PWIFI_AUTHORIZATION_APPROVE
               : PWIFI_AUTHORIZATION_DENY;
}
inline void OnConnectionCompletion(void* u, pwifi_operation_type kind, pwifi_operation_status status, const pwifi_connection* c)
{
    Observer(u)->OnGuestConnectionCompletion(ToType(kind), ToStatus(status), ToCompleteArgs(c));
}
inline void OnDisconnectionRequest(void* u, pwifi_operation_type kind, const pwifi_disconnect_request* d)
{
    const ProxyWifiObserver::DisconnectRequestArgs args{ToSsid(d->ssid, d->ssid_len)};
    Observer(u)->OnGuestDisconnectionRequest(ToType(kind), args);
}
inline void OnDisconnectionCompletion(void* u, pwifi_operation_type kind, pwifi_operation_status status, const pwifi_disconnect_request* d)
{
    Observer(u)->OnGuestDisconnectionCompletion(ToType(kind), ToStatus(status), ToDisconnectArgs(d->interface_id, d->ssid, d->ssid_len));
}
inline void OnScanRequest(void* u, const pwifi_guest*)
{
    Observer(u)->OnGuestScanRequest();
}
inline void OnScanCompletion(void* u, const pwifi_guest*, pwifi_operation_status status)
{
    Observer(u)->OnGuestScanCompletion(ToStatus(status));
}
inline void ProvideFakeNetworks(void* u, pwifi_fake_networks* out)
{
    try
    {
        for (const auto& network : (*static_cast<FakeNetworkProvider*>(u))())
        {
            size_t len = network.ssid.uSSIDLength > 32 ? 32 : network.ssid.uSSIDLength;
            pwifi_fake_networks_add(out, network.ssid.ucSSID, len, network.bssid);
        }
    }
    catch (...)
    {
        // A throwing provider lists no network this time.
    }
}
} // extern "C"

inline const pwifi_observer& ObserverTable() noexcept
{
    static const pwifi_observer table = {
        OnHostConnection,       OnHostDisconnection,    Authorize,        OnConnectionCompletion,
        OnDisconnectionRequest, OnDisconnectionCompletion, OnScanRequest, OnScanCompletion,
    };
    return table;
}

} // namespace detail

/// The service of this implementation: ProxyWifiService plus access to the C handle
/// (status, simulation events, application interfaces through the C functions).
class CApiProxyWifiService : public ProxyWifiService
{
public:
    CApiProxyWifiService(FakeNetworkProvider fakeNetworks, ProxyWifiObserver* observer) : m_fakeNetworks(std::move(fakeNetworks))
    {
        detail::Check(pwifi_config_new(&m_config), "pwifi_config_new");
        if (m_fakeNetworks)
            detail::Check(pwifi_config_set_fake_network_provider(m_config, detail::ProvideFakeNetworks, &m_fakeNetworks), "pwifi_config_set_fake_network_provider");
        if (observer != nullptr)
            detail::Check(pwifi_config_set_observer(m_config, &detail::ObserverTable(), observer), "pwifi_config_set_observer");
    }
    ~CApiProxyWifiService() override
    {
        pwifi_service_free(m_service);
        pwifi_config_free(m_config);
    }
    CApiProxyWifiService(const CApiProxyWifiService&) = delete;
    CApiProxyWifiService& operator=(const CApiProxyWifiService&) = delete;

    void Start() override
    {
        if (m_service == nullptr)
            detail::Check(pwifi_service_start(m_config, &m_service), "Start");
    }
    void Stop() override
    {
        pwifi_service_free(m_service);
        m_service = nullptr;
    }

    /// The config, to set more before Start() (e.g. pwifi_config_add_interface).
    pwifi_config* Config() const noexcept { return m_config; }
    /// The running service, or nullptr before Start() / after Stop().
    pwifi_service* Handle() const noexcept { return m_service; }
    /// The bound request port of a TCP transport (useful with port 0).
    unsigned short TcpPort() const
    {
        uint16_t port = 0;
        detail::Check(pwifi_service_tcp_port(m_service, &port), "TcpPort");
        return port;
    }

private:
    FakeNetworkProvider m_fakeNetworks;
    pwifi_config* m_config = nullptr;
    pwifi_service* m_service = nullptr;
};

namespace detail {
inline pwifi_mode ToMode(OperationMode mode) noexcept
{
    return mode == OperationMode::Simulated ? PWIFI_MODE_SIMULATED : PWIFI_MODE_HOST;
}
} // namespace detail

/// A service on Hyper-V sockets (not started: call Start()). Throws ProxyWifi::Error on
/// bad settings. `pObserver` must outlive the service.
inline std::unique_ptr<ProxyWifiService> BuildProxyWifiService(
    const ProxyWifiHyperVSettings& settings, FakeNetworkProvider fakeNetworkCallback = {}, ProxyWifiObserver* pObserver = nullptr)
{
    auto service = std::make_unique<CApiProxyWifiService>(std::move(fakeNetworkCallback), pObserver);
    uint8_t vmId[16];
    detail::FromGuid(settings.GuestVmId, vmId);
    detail::Check(pwifi_config_set_transport_hyperv(service->Config(), vmId, settings.RequestResponsePort, settings.NotificationPort), "ProxyWifiHyperVSettings");
    detail::Check(pwifi_config_set_mode(service->Config(), detail::ToMode(settings.ProxyMode)), "ProxyMode");
    return service;
}

/// A service on TCP (not started: call Start()). Throws ProxyWifi::Error on bad
/// settings. `pObserver` must outlive the service.
inline std::unique_ptr<ProxyWifiService> BuildProxyWifiService(
    const ProxyWifiTcpSettings& settings, FakeNetworkProvider fakeNetworkCallback = {}, ProxyWifiObserver* pObserver = nullptr)
{
    auto service = std::make_unique<CApiProxyWifiService>(std::move(fakeNetworkCallback), pObserver);
    detail::Check(pwifi_config_set_transport_tcp(service->Config(), settings.ListenIp.data(), settings.ListenIp.size(),
                                                 settings.RequestResponsePort, nullptr, 0, settings.NotificationPort),
                  "ProxyWifiTcpSettings");
    detail::Check(pwifi_config_set_mode(service->Config(), detail::ToMode(settings.ProxyMode)), "ProxyMode");
    // OperationMode::Normal in ProxyWifiTcpSettings is this API's explicit request for host
    // mode over TCP; Start() still refuses it on a non-loopback ListenIp.
    detail::Check(pwifi_config_allow_tcp_host_mode(service->Config(), settings.ProxyMode == OperationMode::Normal),
                  "ProxyMode");
    return service;
}

} // namespace ProxyWifi
