// C++ test of proxy_wifi.hpp, run by tests/cpp_api.rs: the original API's shape over the
// C ABI. A simulated service on TCP with a fake-network provider and an observer that
// denies "FakeOpen"; the harness's guest scans, connects to the fake network "FakeNet"
// and to "FakeOpen" (denied). Usage: cpp_test <notification_port>. Last line:
// "N passed, M failed".
#include "proxy_wifi.hpp"
#include "../c/check.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>
#include <string>
#include <vector>

using namespace ProxyWifi;


static std::string Text(const DOT11_SSID& ssid)
{
    return std::string(reinterpret_cast<const char*>(ssid.ucSSID), ssid.uSSIDLength);
}

static bool SameGuid(const GUID& a, const GUID& b)
{
    return a.Data1 == b.Data1 && a.Data2 == b.Data2 && a.Data3 == b.Data3 && std::memcmp(a.Data4, b.Data4, 8) == 0;
}

class RecordingObserver : public ProxyWifiObserver
{
public:
    Authorization AuthorizeGuestConnectionRequest(OperationType type, const ConnectRequestArgs& connectionInfo) noexcept override
    {
        std::lock_guard<std::mutex> lock(m_lock);
        authorizations.push_back(Text(connectionInfo.ssid));
        lastType = type;
        return Text(connectionInfo.ssid) == "FakeOpen" ? Authorization::Deny : Authorization::Approve;
    }
    void OnGuestConnectionCompletion(OperationType, OperationStatus status, const ConnectCompleteArgs& info) noexcept override
    {
        std::lock_guard<std::mutex> lock(m_lock);
        if (Text(info.ssid) == "FakeNet")
            fakeNetOk = status == OperationStatus::Succeeded && SameGuid(info.interfaceGuid, FakeInterfaceGuid) &&
                        info.authAlgo == DOT11_AUTH_ALGO_RSNA_PSK;
        if (Text(info.ssid) == "FakeOpen")
            deniedStatus = status;
    }
    void OnGuestScanRequest() noexcept override { scanRequests++; }
    void OnGuestScanCompletion(OperationStatus status) noexcept override
    {
        scanCompletions++;
        scanStatus = status;
    }
    void OnHostConnection(const ConnectCompleteArgs& info) noexcept override { hostSsid = Text(info.ssid); }

    std::mutex m_lock;
    std::vector<std::string> authorizations;
    OperationType lastType = OperationType::HostMirroring;
    bool fakeNetOk = false;
    OperationStatus deniedStatus = OperationStatus::Succeeded;
    OperationStatus scanStatus = OperationStatus::Failed;
    int scanRequests = 0, scanCompletions = 0;
    std::string hostSsid;
};

int main(int argc, char** argv)
{
    const auto notificationPort = static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 12346);
    RecordingObserver observer;
    int providerCalls = 0;
    auto provideFakeNetworks = [&providerCalls]() -> std::vector<WifiNetworkInfo> {
        providerCalls++;
        DOT11_SSID ssid{};
        ssid.uSSIDLength = 7;
        std::memcpy(ssid.ucSSID, "FakeNet", 7);
        const DOT11_MAC_ADDRESS bssid = {0x02, 0, 0, 0, 0x0f, 0x01};
        return {WifiNetworkInfo{ssid, bssid}};
    };
    {
        auto wifiProxy = BuildProxyWifiService(ProxyWifiTcpSettings{"127.0.0.1", 0, notificationPort, OperationMode::Simulated},
                                               provideFakeNetworks, &observer);
        wifiProxy->Start();
        auto& service = static_cast<CApiProxyWifiService&>(*wifiProxy);
        std::printf("PORT %u\n", static_cast<unsigned>(service.TcpPort()));
        std::fflush(stdout);
        std::string line;
        while (std::getline(std::cin, line) && line != "done")
        {
        }
        CHECK(pwifi_service_sim_host_connect(service.Handle(), PWIFI_HOST_NETWORK_OPEN, nullptr) == PWIFI_OK);
        wifiProxy->Stop();
        wifiProxy->Stop(); // idempotent
        CHECK(service.Handle() == nullptr);
    }
    CHECK(observer.scanRequests == 1 && observer.scanCompletions == 1 && observer.scanStatus == OperationStatus::Succeeded);
    CHECK((observer.authorizations == std::vector<std::string>{"FakeNet", "FakeOpen"}));
    CHECK(observer.lastType == OperationType::GuestDirected);
    CHECK(observer.fakeNetOk);
    CHECK(observer.deniedStatus == OperationStatus::Denied);
    CHECK(observer.hostSsid == "FakeOpen");
    CHECK(providerCalls >= 1);

    // Errors surface as exceptions with the library's message.
    bool threw = false;
    try
    {
        BuildProxyWifiService(ProxyWifiTcpSettings{"not-an-ip"});
    }
    catch (const ProxyWifi::Error& e)
    {
        threw = e.Code() == PWIFI_ERR_INVALID_ARGUMENT && std::string(e.what()).find("not-an-ip") != std::string::npos;
    }
    CHECK(threw);

    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
