/*
 * Embeds proxy-wifi in a C program: a simulated service on TCP 127.0.0.1, an observer
 * that prints every event and approves every connection, stopped when standard input
 * ends (press Enter).
 *
 *   cc -std=c99 embed.c $(pkg-config --cflags --libs proxy-wifi) -o embed
 *   ./embed [request_port]        (default 12345; 0 picks a free port)
 *   proxy-wifi guest scan         (in another terminal: the project's test guest)
 */
#include <proxy_wifi.h>

#include <stdio.h>
#include <stdlib.h>

static void print_ssid(const char *what, const uint8_t *ssid, size_t len)
{
    printf("%s '%.*s'\n", what, (int)len, (const char *)ssid);
    fflush(stdout);
}

static void on_host_connection(void *user_data, const pwifi_connection *c)
{
    (void)user_data;
    print_ssid("host connected to", c->ssid, c->ssid_len);
}

static pwifi_authorization authorize(void *user_data, pwifi_operation_type kind, const pwifi_connect_request *r)
{
    (void)user_data;
    printf("guest %.*s asks to connect (%s): ", (int)r->guest->name_len, r->guest->name,
           kind == PWIFI_OPERATION_HOST_MIRRORING ? "mirroring" : "guest-directed");
    print_ssid("approved", r->ssid, r->ssid_len);
    return PWIFI_AUTHORIZATION_APPROVE;
}

static void on_connection_completion(void *user_data, pwifi_operation_type kind, pwifi_operation_status status,
                                     const pwifi_connection *c)
{
    (void)user_data;
    (void)kind;
    print_ssid(status == PWIFI_STATUS_SUCCEEDED ? "guest connected to" : "guest failed to connect to", c->ssid,
               c->ssid_len);
}

static void on_scan_request(void *user_data, const pwifi_guest *guest)
{
    (void)user_data;
    printf("guest %.*s scans\n", (int)guest->name_len, guest->name);
    fflush(stdout);
}

static int fail(const char *what)
{
    char message[512];
    pwifi_last_error(message, sizeof message);
    fprintf(stderr, "%s failed: %s\n", what, message);
    return 1;
}

int main(int argc, char **argv)
{
    pwifi_observer observer = {0};
    pwifi_config *config = NULL;
    pwifi_service *service = NULL;
    uint16_t port = 0;
    long request_port = argc > 1 ? strtol(argv[1], NULL, 10) : 12345;

    observer.on_host_connection = on_host_connection;
    observer.authorize_guest_connection_request = authorize;
    observer.on_guest_connection_completion = on_connection_completion;
    observer.on_guest_scan_request = on_scan_request;

    if (pwifi_config_new(&config) != PWIFI_OK)
        return fail("pwifi_config_new");
    if (pwifi_config_set_transport_tcp(config, "127.0.0.1", 9, (uint16_t)request_port, NULL, 0, 12346) != PWIFI_OK ||
        pwifi_config_set_mode(config, PWIFI_MODE_SIMULATED) != PWIFI_OK ||
        pwifi_config_set_observer(config, &observer, NULL) != PWIFI_OK)
        return fail("configuring");
    if (pwifi_service_start(config, &service) != PWIFI_OK)
        return fail("pwifi_service_start");
    pwifi_config_free(config);
    pwifi_service_tcp_port(service, &port);
    printf("proxy-wifi serving on port %u (simulated networks FakeWpa2Psk, FakeOpen, Fake6GHz); Enter stops\n",
           (unsigned)port);
    fflush(stdout);

    while (getchar() != '\n' && !feof(stdin))
        ;
    if (pwifi_service_free(service) != PWIFI_OK)
        return fail("pwifi_service_free");
    printf("stopped\n");
    return 0;
}
