/*
 * C test of the proxy-wifi C ABI, run by tests/c_api.rs (also under ASan/UBSan and,
 * for Windows, under Wine).
 *
 * Usage: capi_test <notification_port>
 * Starts a host-mode service on 127.0.0.1 (free request port) with a fake network
 * provider, an observer that denies the SSID "DenyMe", and an interface implemented
 * here in C; prints "PORT <n>"; waits for "done" on standard input while the harness
 * drives the service with the project's guest client (scan, connect "CNetOpen",
 * disconnect, connect "DenyMe"); then stops it and checks every callback and argument.
 * Then: a simulated-mode service and its event API, and NULL / invalid handles.
 * Last line: "N passed, M failed".
 */
#include "proxy_wifi.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_RC(call, expected)                                                    \
    do {                                                                            \
        pwifi_result rc_ = (call);                                                  \
        if (rc_ == (expected)) {                                                    \
            passed++;                                                               \
        } else {                                                                    \
            char msg_[256];                                                         \
            pwifi_last_error(msg_, sizeof msg_);                                    \
            failed++;                                                               \
            printf("FAIL %s:%d: %s = %d, expected %d (%s)\n", __FILE__, __LINE__,   \
                   #call, (int)rc_, (int)(expected), msg_);                         \
        }                                                                           \
    } while (0)

static int bytes_are(const uint8_t *data, size_t len, const char *text)
{
    return len == strlen(text) && memcmp(data, text, len) == 0;
}

static const uint8_t IFACE_ID[16] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x47, 0x88,
                                     0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01};
static const uint8_t IFACE2_ID[16] = {0x22, 0x22, 0x33, 0x44, 0x55, 0x66, 0x47, 0x88,
                                      0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x02};
static const uint8_t CNET_BSSID[6] = {0x02, 0x00, 0x00, 0x00, 0x0c, 0x01};
static const uint8_t DENY_BSSID[6] = {0x02, 0x00, 0x00, 0x00, 0x0c, 0x02};
static const uint8_t FAKE_BSSID[6] = {0x02, 0x00, 0x00, 0x00, 0x0f, 0x01};

/* ---- what the callbacks saw (read by main after pwifi_service_stop) ---- */
struct record {
    pwifi_service *service;
    int scan_requests, scan_completions, scan_status;
    int guest_kind_ok, guest_name_ok, guest_ip_ok;
    int stop_from_callback_rc;
    int authorizations, authorize_cnet, authorize_deny, authorize_kind;
    int completions, completion_cnet_ok, completion_deny_status;
    int disconnect_requests, disconnect_completions, disconnect_iface_ok, disconnect_status;
    int host_connections, host_connection_ok, host_disconnections, host_disconnection_ok;
    int provider_calls, add_outside_rc;
    int iface_scans, iface_connects, iface_connect_args_ok, iface_disconnects, iface_releases;
    char host_ssid[33];
};
static struct record rec;

static void check_guest(const pwifi_guest *guest)
{
    static const uint8_t loopback[4] = {127, 0, 0, 1};
    rec.guest_kind_ok += guest != NULL && guest->kind == PWIFI_GUEST_TCP;
    rec.guest_name_ok += guest != NULL && bytes_are((const uint8_t *)guest->name, guest->name_len, "tcp:127.0.0.1");
    rec.guest_ip_ok += guest != NULL && guest->ip_len == 4 && memcmp(guest->ip, loopback, 4) == 0;
}

static void on_scan_request(void *user_data, const pwifi_guest *guest)
{
    struct record *r = user_data;
    r->scan_requests++;
    check_guest(guest);
    /* Stopping from a callback would deadlock: refused with an error code. */
    r->stop_from_callback_rc = pwifi_service_stop(r->service);
}

static void on_scan_completion(void *user_data, const pwifi_guest *guest, pwifi_operation_status status)
{
    struct record *r = user_data;
    r->scan_completions++;
    r->scan_status = status;
    check_guest(guest);
}

static pwifi_authorization authorize(void *user_data, pwifi_operation_type kind, const pwifi_connect_request *request)
{
    struct record *r = user_data;
    r->authorizations++;
    r->authorize_kind = kind;
    check_guest(request->guest);
    if (bytes_are(request->ssid, request->ssid_len, "DenyMe")) {
        r->authorize_deny++;
        return PWIFI_AUTHORIZATION_DENY;
    }
    if (bytes_are(request->ssid, request->ssid_len, "CNetOpen") && request->auth == PWIFI_AUTH_OPEN && !request->has_interface)
        r->authorize_cnet++;
    return PWIFI_AUTHORIZATION_APPROVE;
}

static void on_connection_completion(void *user_data, pwifi_operation_type kind, pwifi_operation_status status,
                                     const pwifi_connection *c)
{
    struct record *r = user_data;
    r->completions++;
    if (bytes_are(c->ssid, c->ssid_len, "CNetOpen"))
        r->completion_cnet_ok = kind == PWIFI_OPERATION_GUEST_DIRECTED && status == PWIFI_STATUS_SUCCEEDED &&
                                c->has_interface && memcmp(c->interface_id, IFACE_ID, 16) == 0 &&
                                memcmp(c->bssid, CNET_BSSID, 6) == 0 && c->auth == PWIFI_AUTH_OPEN && c->guest != NULL;
    if (bytes_are(c->ssid, c->ssid_len, "DenyMe"))
        r->completion_deny_status = status;
}

static void on_disconnection_request(void *user_data, pwifi_operation_type kind, const pwifi_disconnect_request *d)
{
    struct record *r = user_data;
    (void)kind;
    r->disconnect_requests++;
    r->disconnect_iface_ok = memcmp(d->interface_id, IFACE_ID, 16) == 0 && bytes_are(d->ssid, d->ssid_len, "CNetOpen");
}

static void on_disconnection_completion(void *user_data, pwifi_operation_type kind, pwifi_operation_status status,
                                        const pwifi_disconnect_request *d)
{
    struct record *r = user_data;
    (void)kind;
    (void)d;
    r->disconnect_completions++;
    r->disconnect_status = status;
}

static void on_host_connection(void *user_data, const pwifi_connection *c)
{
    struct record *r = user_data;
    r->host_connections++;
    r->host_connection_ok = c->guest == NULL && c->has_interface && c->ssid_len <= 32;
    memcpy(r->host_ssid, c->ssid, c->ssid_len);
    r->host_ssid[c->ssid_len] = 0;
}

static void on_host_disconnection(void *user_data, const pwifi_connection *c)
{
    struct record *r = user_data;
    r->host_disconnections++;
    r->host_disconnection_ok = c->guest == NULL && bytes_are(c->ssid, c->ssid_len, r->host_ssid);
}

static void provide_fake_networks(void *user_data, pwifi_fake_networks *networks)
{
    struct record *r = user_data;
    r->provider_calls++;
    pwifi_fake_networks_add(networks, (const uint8_t *)"FakeNet", 7, FAKE_BSSID);
}

/* ---- an interface implemented in C ---- */
static pwifi_iface_result iface_scan(void *user_data, const uint8_t *ssid, size_t ssid_len, pwifi_scan_results *results)
{
    struct record *r = user_data;
    pwifi_bss bss;
    (void)ssid;
    (void)ssid_len;
    r->iface_scans++;
    memset(&bss, 0, sizeof bss);
    bss.ssid = (const uint8_t *)"CNetOpen";
    bss.ssid_len = 8;
    memcpy(bss.bssid, CNET_BSSID, 6);
    bss.auth = PWIFI_AUTH_OPEN;
    bss.frequency_mhz = 2437;
    bss.rssi_dbm = -40;
    if (pwifi_scan_results_add(results, &bss) != PWIFI_OK)
        return PWIFI_IFACE_FAILED;
    bss.ssid = (const uint8_t *)"DenyMe";
    bss.ssid_len = 6;
    memcpy(bss.bssid, DENY_BSSID, 6);
    bss.frequency_mhz = 5180;
    return pwifi_scan_results_add(results, &bss) == PWIFI_OK ? PWIFI_IFACE_OK : PWIFI_IFACE_FAILED;
}

static pwifi_iface_result iface_connect(void *user_data, const pwifi_connect_params *params, pwifi_network *connected)
{
    struct record *r = user_data;
    r->iface_connects++;
    if (!bytes_are(params->ssid, params->ssid_len, "CNetOpen"))
        return PWIFI_IFACE_NOT_FOUND;
    r->iface_connect_args_ok = params->auth == PWIFI_AUTH_OPEN && params->key_len == 0;
    memcpy(connected->ssid, params->ssid, params->ssid_len);
    connected->ssid_len = params->ssid_len;
    memcpy(connected->bssid, CNET_BSSID, 6);
    connected->auth = PWIFI_AUTH_OPEN;
    return PWIFI_IFACE_OK;
}

static pwifi_iface_result iface_disconnect(void *user_data)
{
    struct record *r = user_data;
    r->iface_disconnects++;
    return PWIFI_IFACE_OK;
}

static void iface_release(void *user_data)
{
    struct record *r = user_data;
    r->iface_releases++;
}

static const pwifi_observer OBSERVER = {
    on_host_connection,       on_host_disconnection,       authorize,
    on_connection_completion, on_disconnection_request,    on_disconnection_completion,
    on_scan_request,          on_scan_completion,
};

static const pwifi_interface_vtable IFACE = {iface_scan, iface_connect, iface_disconnect, NULL, iface_release};

static void wait_for_done(void)
{
    char line[64];
    while (fgets(line, sizeof line, stdin) != NULL)
        if (strncmp(line, "done", 4) == 0)
            return;
}

static void host_mode_with_guest(uint16_t notification_port)
{
    pwifi_config *config = NULL;
    pwifi_service *service = NULL;
    pwifi_service_status status;
    uint16_t port = 0;
    char *json = NULL;
    size_t json_len = 0;

    CHECK_RC(pwifi_config_new(&config), PWIFI_OK);
    CHECK_RC(pwifi_config_set_transport_tcp(config, "127.0.0.1", 9, 0, NULL, 0, notification_port), PWIFI_OK);
    CHECK_RC(pwifi_config_set_mode(config, PWIFI_MODE_HOST), PWIFI_OK);
    /* Only this test's interfaces and fake networks, whatever Wi-Fi the machine has. */
    CHECK_RC(pwifi_config_set_host_backend(config, PWIFI_HOST_BACKEND_NONE, NULL, 0), PWIFI_OK);
    CHECK_RC(pwifi_config_set_host_backend(config, 7, NULL, 0), PWIFI_ERR_INVALID_ARGUMENT);
    CHECK_RC(pwifi_config_set_host_backend(config, PWIFI_HOST_BACKEND_NONE, "/run/x", 6), PWIFI_ERR_INVALID_ARGUMENT);
    CHECK_RC(pwifi_config_set_guest_abi(config, 2), PWIFI_ERR_INVALID_ARGUMENT);
    CHECK_RC(pwifi_config_set_guest_abi(config, PWIFI_GUEST_ABI_CURRENT), PWIFI_OK);
    CHECK_RC(pwifi_config_set_callback_deadline(config, 0), PWIFI_ERR_INVALID_ARGUMENT);
    CHECK_RC(pwifi_config_set_callback_deadline(config, 20001), PWIFI_ERR_INVALID_ARGUMENT);
    CHECK_RC(pwifi_config_set_callback_deadline(config, 3000), PWIFI_OK);
    CHECK_RC(pwifi_config_set_observer(config, &OBSERVER, &rec), PWIFI_OK);
    CHECK_RC(pwifi_config_set_fake_network_provider(config, provide_fake_networks, &rec), PWIFI_OK);
    CHECK_RC(pwifi_config_add_interface(config, IFACE_ID, &IFACE, &rec), PWIFI_OK);
    CHECK_RC(pwifi_config_add_interface(config, IFACE_ID, &IFACE, &rec), PWIFI_ERR_INVALID_ARGUMENT);
    /* Host mode over TCP: refused without the opt-in, and on a non-loopback address. */
    {
        char message[256];

        CHECK_RC(pwifi_service_start(config, &service), PWIFI_ERR_INVALID_ARGUMENT);
        CHECK(pwifi_last_error(message, sizeof message) > 0 && strstr(message, "opt in") != NULL);
        CHECK(service == NULL);
        CHECK_RC(pwifi_config_allow_tcp_host_mode(config, true), PWIFI_OK);
        CHECK_RC(pwifi_config_set_transport_tcp(config, "0.0.0.0", 7, 0, "127.0.0.1", 9, notification_port), PWIFI_OK);
        CHECK_RC(pwifi_service_start(config, &service), PWIFI_ERR_INVALID_ARGUMENT);
        CHECK(pwifi_last_error(message, sizeof message) > 0 && strstr(message, "0.0.0.0") != NULL);
        CHECK(service == NULL);
        CHECK_RC(pwifi_config_set_transport_tcp(config, "127.0.0.1", 9, 0, NULL, 0, notification_port), PWIFI_OK);
    }
    CHECK_RC(pwifi_service_start(config, &service), PWIFI_OK);
    rec.service = service;
    CHECK_RC(pwifi_service_tcp_port(service, &port), PWIFI_OK);
    CHECK(port != 0);
    /* A second service on the same port: the transport error names the address. */
    {
        pwifi_config *busy = NULL;
        pwifi_service *second = NULL;
        char message[256], listen[16];
        size_t n;
        int len = snprintf(listen, sizeof listen, "127.0.0.1");
        pwifi_config_new(&busy);
        pwifi_config_set_transport_tcp(busy, listen, (size_t)len, port, NULL, 0, notification_port);
        CHECK_RC(pwifi_service_start(busy, &second), PWIFI_ERR_TRANSPORT);
        n = pwifi_last_error(message, sizeof message);
        CHECK(n > 0 && strstr(message, "127.0.0.1") != NULL);
        CHECK(second == NULL);
        CHECK_RC(pwifi_config_free(busy), PWIFI_OK);
    }
    /* Outside its callback, a fake-network list handle is not valid. */
    rec.add_outside_rc = pwifi_fake_networks_add((pwifi_fake_networks *)&rec, (const uint8_t *)"x", 1, FAKE_BSSID);
    CHECK(rec.add_outside_rc == PWIFI_ERR_INVALID_HANDLE);

    printf("PORT %u\n", (unsigned)port);
    fflush(stdout);
    wait_for_done();

    /* A host event of the C interface reaches the observer. */
    {
        pwifi_network network;
        memset(&network, 0, sizeof network);
        memcpy(network.ssid, "CNetOpen", 8);
        network.ssid_len = 8;
        memcpy(network.bssid, CNET_BSSID, 6);
        network.auth = PWIFI_AUTH_OPEN;
        CHECK_RC(pwifi_service_interface_host_connected(service, IFACE_ID, &network), PWIFI_OK);
        CHECK_RC(pwifi_service_interface_signal_quality(service, IFACE_ID, 101), PWIFI_ERR_INVALID_ARGUMENT);
        CHECK_RC(pwifi_service_interface_host_disconnected(service, IFACE_ID, network.ssid, network.ssid_len), PWIFI_OK);
    }
    CHECK_RC(pwifi_service_sim_host_connect(service, PWIFI_HOST_NETWORK_OPEN, NULL), PWIFI_ERR_STATE);
    /* Interfaces added and removed at run time. */
    CHECK_RC(pwifi_service_add_interface(service, IFACE2_ID, &IFACE, &rec), PWIFI_OK);
    CHECK_RC(pwifi_service_add_interface(service, IFACE2_ID, &IFACE, &rec), PWIFI_ERR_INVALID_ARGUMENT);
    CHECK_RC(pwifi_service_remove_interface(service, IFACE2_ID), PWIFI_OK);
    CHECK_RC(pwifi_service_remove_interface(service, IFACE2_ID), PWIFI_ERR_NOT_FOUND);

    CHECK_RC(pwifi_service_stop(service), PWIFI_OK);
    CHECK_RC(pwifi_service_stop(service), PWIFI_OK); /* idempotent */
    CHECK_RC(pwifi_service_get_status(service, &status), PWIFI_OK);
    CHECK(!status.running);
    CHECK(status.mode == PWIFI_MODE_HOST);
    CHECK(status.interfaces == 2); /* fake networks + the C interface */
    CHECK(status.guests == 1);
    CHECK(status.scan_requests == 1);
    CHECK(status.connect_requests == 2);
    CHECK(status.disconnect_requests == 1);
    CHECK(status.connected_guests == 0);
    CHECK_RC(pwifi_service_status_json(service, &json, &json_len), PWIFI_OK);
    CHECK(json != NULL && json_len == strlen(json) && strstr(json, "\"tcp:127.0.0.1\"") != NULL);
    pwifi_string_free(json);

    /* The callbacks, with their arguments. */
    CHECK(rec.scan_requests == 1);
    CHECK(rec.stop_from_callback_rc == PWIFI_ERR_STATE);
    CHECK(rec.scan_completions == 1 && rec.scan_status == PWIFI_STATUS_SUCCEEDED);
    CHECK(rec.authorizations == 2 && rec.authorize_cnet == 1 && rec.authorize_deny == 1);
    CHECK(rec.authorize_kind == PWIFI_OPERATION_GUEST_DIRECTED);
    CHECK(rec.completions == 2 && rec.completion_cnet_ok);
    CHECK(rec.completion_deny_status == PWIFI_STATUS_DENIED);
    CHECK(rec.disconnect_requests == 1 && rec.disconnect_iface_ok);
    CHECK(rec.disconnect_completions == 1 && rec.disconnect_status == PWIFI_STATUS_SUCCEEDED);
    CHECK(rec.guest_kind_ok == 4 && rec.guest_name_ok == 4 && rec.guest_ip_ok == 4);
    CHECK(rec.host_connections == 1 && rec.host_connection_ok && strcmp(rec.host_ssid, "CNetOpen") == 0);
    CHECK(rec.host_disconnections == 1 && rec.host_disconnection_ok);
    CHECK(rec.provider_calls >= 1);
    CHECK(rec.iface_scans == 1);
    CHECK(rec.iface_connects == 1 && rec.iface_connect_args_ok); /* DenyMe never reached it */
    CHECK(rec.iface_disconnects == 1);

    CHECK_RC(pwifi_service_free(service), PWIFI_OK);
    CHECK_RC(pwifi_service_free(service), PWIFI_ERR_INVALID_HANDLE); /* freed */
    CHECK(rec.iface_releases == 1); /* the run-time one; the config still holds the other */
    CHECK_RC(pwifi_config_free(config), PWIFI_OK);
    CHECK(rec.iface_releases == 2);
}

static void simulated_mode(void)
{
    pwifi_config *config = NULL;
    pwifi_service *service = NULL;
    pwifi_network joined;

    memset(&rec, 0, sizeof rec);
    CHECK_RC(pwifi_config_new(&config), PWIFI_OK);
    CHECK_RC(pwifi_config_set_transport_tcp(config, "127.0.0.1", 9, 0, NULL, 0, 9), PWIFI_OK);
    CHECK_RC(pwifi_config_set_mode(config, PWIFI_MODE_SIMULATED), PWIFI_OK);
    CHECK_RC(pwifi_config_set_observer(config, &OBSERVER, &rec), PWIFI_OK);
    CHECK_RC(pwifi_service_start(config, &service), PWIFI_OK);
    CHECK_RC(pwifi_config_free(config), PWIFI_OK); /* the service does not need it */
    CHECK_RC(pwifi_service_sim_host_disconnect(service), PWIFI_ERR_STATE); /* not connected */
    CHECK_RC(pwifi_service_sim_host_connect(service, PWIFI_HOST_NETWORK_PSK, &joined), PWIFI_OK);
    CHECK(bytes_are(joined.ssid, joined.ssid_len, "FakeWpa2Psk") && joined.auth == PWIFI_AUTH_WPA2_PSK);
    CHECK_RC(pwifi_service_sim_signal_quality(service, 40), PWIFI_OK);
    CHECK_RC(pwifi_service_sim_signal_quality(service, 101), PWIFI_ERR_INVALID_ARGUMENT);
    CHECK_RC(pwifi_service_sim_set_scan_mode(service, PWIFI_SCAN_MODE_ASYNCHRONOUS), PWIFI_OK);
    CHECK_RC(pwifi_service_sim_set_scan_mode(service, 7), PWIFI_ERR_INVALID_ARGUMENT);
    CHECK_RC(pwifi_service_sim_send_scan_results(service), PWIFI_OK);
    CHECK_RC(pwifi_service_sim_host_disconnect(service), PWIFI_OK);
    CHECK_RC(pwifi_service_sim_host_connect(service, 9, NULL), PWIFI_ERR_INVALID_ARGUMENT);
    CHECK_RC(pwifi_service_free(service), PWIFI_OK);
    CHECK(rec.host_connections == 1 && strcmp(rec.host_ssid, "FakeWpa2Psk") == 0);
    CHECK(rec.host_disconnections == 1 && rec.host_disconnection_ok);
}

#ifndef _WIN32
#include <unistd.h>
#endif

/* Guests added and removed at run time: refused where the guests are fixed, and for a
 * hybrid-vsock service a VMM socket's listener comes and goes with its guest. */
static void guests_change_at_run_time(void)
{
    pwifi_config *config = NULL;
    pwifi_service *service = NULL;
    bool changed = false;
    char message[256];

    CHECK_RC(pwifi_config_new(&config), PWIFI_OK);
    CHECK_RC(pwifi_config_set_transport_tcp(config, "127.0.0.1", 9, 0, NULL, 0, 9), PWIFI_OK);
    CHECK_RC(pwifi_config_set_mode(config, PWIFI_MODE_SIMULATED), PWIFI_OK);
    CHECK_RC(pwifi_service_start(config, &service), PWIFI_OK);
    CHECK_RC(pwifi_service_add_guest(service, "tcp:127.0.0.9", 13, &changed), PWIFI_ERR_STATE);
    CHECK(pwifi_last_error(message, sizeof message) > 0 && strstr(message, "fixed at start") != NULL);
    CHECK_RC(pwifi_service_add_guest(service, "seven", 5, NULL), PWIFI_ERR_INVALID_ARGUMENT);
    CHECK(pwifi_last_error(message, sizeof message) > 0 && strstr(message, "\"seven\" is not a guest") != NULL);
    CHECK_RC(pwifi_service_add_guest(service, NULL, 3, NULL), PWIFI_ERR_NULL);
    CHECK_RC(pwifi_service_remove_guest(NULL, "tcp:127.0.0.9", 13, NULL), PWIFI_ERR_NULL);
    CHECK_RC(pwifi_service_free(service), PWIFI_OK);

#ifndef _WIN32
    char dir[] = "/tmp/pwifi-capi-XXXXXX";
    char first[64], second[64], guest[80], listener[80];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(first, sizeof first, "%s/a.sock", dir);
    snprintf(second, sizeof second, "%s/b.sock", dir);
    snprintf(guest, sizeof guest, "hybrid-vsock:%s", second);
    snprintf(listener, sizeof listener, "%s_22345", second);
    pwifi_str paths[1] = {{first, strlen(first)}};
    CHECK_RC(pwifi_config_set_transport_hybrid_vsock(config, paths, 1, 22345, 22346), PWIFI_OK);
    CHECK_RC(pwifi_service_start(config, &service), PWIFI_OK);
    CHECK_RC(pwifi_service_add_guest(service, guest, strlen(guest), &changed), PWIFI_OK);
    CHECK(changed && access(listener, F_OK) == 0);
    CHECK_RC(pwifi_service_add_guest(service, guest, strlen(guest), &changed), PWIFI_OK);
    CHECK(!changed);
    CHECK_RC(pwifi_service_add_guest(service, "vsock:7", 7, NULL), PWIFI_ERR_INVALID_ARGUMENT);
    CHECK_RC(pwifi_service_remove_guest(service, guest, strlen(guest), &changed), PWIFI_OK);
    CHECK(changed && access(listener, F_OK) != 0);
    CHECK_RC(pwifi_service_remove_guest(service, guest, strlen(guest), &changed), PWIFI_OK);
    CHECK(!changed);
    CHECK_RC(pwifi_service_free(service), PWIFI_OK);
    rmdir(dir);
#endif
    CHECK_RC(pwifi_config_free(config), PWIFI_OK);
}

static void null_and_invalid_handles(void)
{
    pwifi_config *bogus_config = (pwifi_config *)(uintptr_t)0x1234;
    pwifi_service *bogus_service = (pwifi_service *)(uintptr_t)0xdeadbee0;
    pwifi_config *config = NULL;
    pwifi_service *service = NULL;
    pwifi_service_status status;
    uint16_t port;
    char message[128];
    char *json = NULL;
    uint32_t cid = 3;

    CHECK_RC(pwifi_config_new(NULL), PWIFI_ERR_NULL);
    CHECK(pwifi_last_error(message, sizeof message) > 0 && strstr(message, "out") != NULL);
    CHECK(pwifi_last_error(NULL, 0) > 0);
    CHECK_RC(pwifi_config_free(NULL), PWIFI_OK);
    CHECK(pwifi_last_error(NULL, 0) == 0);
    CHECK_RC(pwifi_config_free(bogus_config), PWIFI_ERR_INVALID_HANDLE);
    CHECK_RC(pwifi_config_set_mode(NULL, PWIFI_MODE_HOST), PWIFI_ERR_NULL);
    CHECK_RC(pwifi_config_set_mode(bogus_config, PWIFI_MODE_HOST), PWIFI_ERR_INVALID_HANDLE);
    CHECK_RC(pwifi_config_set_host_backend(NULL, PWIFI_HOST_BACKEND_NONE, NULL, 0), PWIFI_ERR_NULL);
    CHECK_RC(pwifi_config_set_host_backend(bogus_config, PWIFI_HOST_BACKEND_AUTO, NULL, 0), PWIFI_ERR_INVALID_HANDLE);
    CHECK_RC(pwifi_config_set_guest_abi(NULL, PWIFI_GUEST_ABI_LEGACY), PWIFI_ERR_NULL);
    CHECK_RC(pwifi_config_set_callback_deadline(NULL, 3000), PWIFI_ERR_NULL);
    CHECK_RC(pwifi_config_set_guest_abi(bogus_config, PWIFI_GUEST_ABI_LEGACY), PWIFI_ERR_INVALID_HANDLE);
    CHECK_RC(pwifi_config_set_transport_tcp(bogus_config, "127.0.0.1", 9, 0, NULL, 0, 0), PWIFI_ERR_INVALID_HANDLE);
    CHECK_RC(pwifi_config_set_transport_vsock(NULL, &cid, 1, 1, 2), PWIFI_ERR_NULL);
    CHECK_RC(pwifi_config_set_observer(bogus_config, NULL, NULL), PWIFI_ERR_INVALID_HANDLE);
    CHECK_RC(pwifi_service_start(NULL, &service), PWIFI_ERR_NULL);
    CHECK_RC(pwifi_service_start(bogus_config, &service), PWIFI_ERR_INVALID_HANDLE);
    CHECK(service == NULL);
    CHECK_RC(pwifi_service_stop(NULL), PWIFI_ERR_NULL);
    CHECK_RC(pwifi_service_stop(bogus_service), PWIFI_ERR_INVALID_HANDLE);
    CHECK_RC(pwifi_service_free(NULL), PWIFI_OK);
    CHECK_RC(pwifi_service_free(bogus_service), PWIFI_ERR_INVALID_HANDLE);
    CHECK_RC(pwifi_service_get_status(bogus_service, &status), PWIFI_ERR_INVALID_HANDLE);
    CHECK_RC(pwifi_service_get_status(NULL, &status), PWIFI_ERR_NULL);
    CHECK_RC(pwifi_service_status_json(bogus_service, &json, NULL), PWIFI_ERR_INVALID_HANDLE);
    CHECK_RC(pwifi_service_tcp_port(bogus_service, &port), PWIFI_ERR_INVALID_HANDLE);
    CHECK_RC(pwifi_service_sim_host_connect(bogus_service, PWIFI_HOST_NETWORK_OPEN, NULL), PWIFI_ERR_INVALID_HANDLE);
    CHECK_RC(pwifi_service_sim_host_disconnect(NULL), PWIFI_ERR_NULL);
    CHECK_RC(pwifi_service_sim_signal_quality(bogus_service, 10), PWIFI_ERR_INVALID_HANDLE);
    CHECK_RC(pwifi_service_sim_send_scan_results(bogus_service), PWIFI_ERR_INVALID_HANDLE);
    CHECK_RC(pwifi_service_sim_set_scan_mode(bogus_service, 0), PWIFI_ERR_INVALID_HANDLE);
    CHECK_RC(pwifi_service_add_interface(bogus_service, IFACE_ID, &IFACE, NULL), PWIFI_ERR_INVALID_HANDLE);
    CHECK_RC(pwifi_service_remove_interface(bogus_service, IFACE_ID), PWIFI_ERR_INVALID_HANDLE);
    CHECK_RC(pwifi_service_interface_signal_quality(bogus_service, IFACE_ID, 5), PWIFI_ERR_INVALID_HANDLE);
    CHECK_RC(pwifi_scan_results_add(NULL, NULL), PWIFI_ERR_NULL);
    CHECK_RC(pwifi_scan_results_add((pwifi_scan_results *)bogus_service, NULL), PWIFI_ERR_INVALID_HANDLE);
    pwifi_string_free(NULL);

    /* Bad values are named in the message. */
    CHECK_RC(pwifi_config_new(&config), PWIFI_OK);
    CHECK_RC(pwifi_config_set_transport_tcp(config, "not-an-ip", 9, 0, NULL, 0, 0), PWIFI_ERR_INVALID_ARGUMENT);
    CHECK(pwifi_last_error(message, sizeof message) > 0 && strstr(message, "not-an-ip") != NULL);
    CHECK_RC(pwifi_config_set_transport_tcp(config, NULL, 9, 0, NULL, 0, 0), PWIFI_ERR_NULL);
    CHECK_RC(pwifi_config_set_mode(config, 42), PWIFI_ERR_INVALID_ARGUMENT);
    CHECK_RC(pwifi_config_add_interface(config, IFACE_ID, NULL, NULL), PWIFI_ERR_NULL);
    CHECK_RC(pwifi_config_add_interface(config, NULL, &IFACE, NULL), PWIFI_ERR_NULL);
    CHECK_RC(pwifi_config_set_transport_hybrid_vsock(config, NULL, 0, 1, 2), PWIFI_ERR_INVALID_ARGUMENT);
    /* A stale config handle. */
    CHECK_RC(pwifi_config_free(config), PWIFI_OK);
    CHECK_RC(pwifi_config_set_mode(config, PWIFI_MODE_HOST), PWIFI_ERR_INVALID_HANDLE);
    CHECK_RC(pwifi_config_free(config), PWIFI_ERR_INVALID_HANDLE);
}

int main(int argc, char **argv)
{
    size_t version_len = 0;
    const char *version = pwifi_version(&version_len);
    long notification_port = argc > 1 ? strtol(argv[1], NULL, 10) : 12346;

    CHECK(version != NULL && version_len == strlen(version) && version_len > 0);
    if (getenv("PWIFI_TEST_LOG") != NULL)
        CHECK_RC(pwifi_log_to_stderr("debug", 5), PWIFI_OK);
    host_mode_with_guest((uint16_t)notification_port);
    simulated_mode();
    guests_change_at_run_time();
    null_and_invalid_handles();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
