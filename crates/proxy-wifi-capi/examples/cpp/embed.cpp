// Embeds proxy-wifi in a C++ program through proxy_wifi.hpp (the original API's shape):
// a simulated service on TCP 127.0.0.1, an observer that prints and approves, stopped
// when standard input ends (press Enter).
//
//   c++ -std=c++17 embed.cpp $(pkg-config --cflags --libs proxy-wifi) -o embed
//   ./embed [request_port]        (default 12345; 0 picks a free port)
#include <proxy_wifi.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

using namespace ProxyWifi;

class PrintingObserver : public ProxyWifiObserver
{
public:
    Authorization AuthorizeGuestConnectionRequest(OperationType, const ConnectRequestArgs& connectionInfo) noexcept override
    {
        std::cout << "the guest asks to connect to '" << Ssid(connectionInfo.ssid) << "': approved" << std::endl;
        return Authorization::Approve;
    }
    void OnGuestConnectionCompletion(OperationType, OperationStatus status, const ConnectCompleteArgs& info) noexcept override
    {
        std::cout << (status == OperationStatus::Succeeded ? "guest connected to '" : "guest failed to connect to '")
                  << Ssid(info.ssid) << "'" << std::endl;
    }
    void OnGuestScanRequest() noexcept override { std::cout << "the guest scans" << std::endl; }
    void OnHostConnection(const ConnectCompleteArgs& info) noexcept override
    {
        std::cout << "host connected to '" << Ssid(info.ssid) << "'" << std::endl;
    }

private:
    static std::string Ssid(const DOT11_SSID& ssid)
    {
        return std::string(reinterpret_cast<const char*>(ssid.ucSSID), ssid.uSSIDLength);
    }
};

int main(int argc, char** argv)
{
    const auto port = static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : RequestResponsePortDefault);
    try
    {
        auto observer = PrintingObserver{};
        auto wifiProxy = BuildProxyWifiService(ProxyWifiTcpSettings{"127.0.0.1", port, NotificationPortDefault, OperationMode::Simulated},
                                               {}, &observer);
        wifiProxy->Start();
        std::cout << "proxy-wifi serving on port " << static_cast<CApiProxyWifiService&>(*wifiProxy).TcpPort()
                  << " (simulated networks FakeWpa2Psk, FakeOpen, Fake6GHz); Enter stops" << std::endl;
        std::string line;
        std::getline(std::cin, line);
        wifiProxy->Stop();
        std::cout << "stopped" << std::endl;
    }
    catch (const ProxyWifi::Error& e)
    {
        std::cerr << e.what() << std::endl;
        return 1;
    }
    return 0;
}
