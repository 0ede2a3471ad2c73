//! Codec benchmarks: encode and decode a 1000-BSS scan response, decode a connect
//! request, and a plain copy of the same number of bytes for comparison.
//!
//! `cargo bench -p proxy-wifi-protocol` prints criterion's figures, then a summary line
//! with the encode / memcpy ratio (median of repeated timed batches).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use proxy_wifi_protocol::{
    BssEntry, Bssid, Capabilities, ConnectRequest, GuestBound, HostBound, Pmk, RsnElement, ScanResponse,
    ScanResponseBuilder, Ssid, push_rsn_element, push_ssid_element,
};

fn scan_response(count: usize) -> GuestBound {
    let bss = (0..count)
        .map(|i| {
            let ssid = Ssid::new(format!("Network-{i:05}").as_bytes()).unwrap();
            let mut ies = Vec::with_capacity(48);
            push_ssid_element(&mut ies, &ssid);
            push_rsn_element(&mut ies, &RsnElement::wpa2_psk());
            let b = (i as u32).to_be_bytes();
            BssEntry {
                bssid: Bssid([0x02, 0, b[0], b[1], b[2], b[3]]),
                capabilities: Capabilities::ESS | Capabilities::PRIVACY,
                rssi_dbm: -40 - (i % 50) as i32,
                beacon_interval: 100,
                frequency_khz: 2_412_000,
                ies,
            }
        })
        .collect();
    GuestBound::ScanResponse(ScanResponse { scan_complete: true, bss })
}

fn connect_request() -> Vec<u8> {
    let ssid = Ssid::new(b"FakeWpa2Psk").unwrap();
    HostBound::Connect(ConnectRequest::wpa2_psk(ssid, Pmk::derive(b"secretsecret", &ssid))).to_bytes()
}

/// Median time per call of `f` over 31 batches of `iterations` calls.
fn median_time(iterations: u32, mut f: impl FnMut()) -> Duration {
    let mut samples: Vec<Duration> = (0..31)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iterations {
                f();
            }
            start.elapsed() / iterations
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let message = scan_response(1000);
    let encoded = message.to_bytes();
    let connect = connect_request();
    let mut criterion = Criterion::default().configure_from_args().warm_up_time(Duration::from_millis(500));

    let mut group = criterion.benchmark_group("scan_response_1000_bss");
    group.throughput(Throughput::Bytes(encoded.len() as u64));
    let mut buffer = Vec::with_capacity(encoded.len());
    group.bench_function("encode", |b| {
        b.iter(|| {
            buffer.clear();
            black_box(&message).encode(&mut buffer);
            black_box(&buffer);
        })
    });
    let mut copy = vec![0u8; encoded.len()];
    group.bench_function("memcpy_same_bytes", |b| {
        b.iter(|| {
            copy.copy_from_slice(black_box(&encoded));
            black_box(&copy);
        })
    });
    let GuestBound::ScanResponse(response) = &message else { unreachable!() };
    let mut builder = ScanResponseBuilder::with_capacity(response.bss.len(), 64 * response.bss.len());
    for entry in &response.bss {
        builder.push(entry);
    }
    group.bench_function("encode_builder", |b| {
        b.iter(|| {
            buffer.clear();
            black_box(&builder).encode(true, &mut buffer);
            black_box(&buffer);
        })
    });
    group.bench_function("decode", |b| b.iter(|| GuestBound::decode_frame(black_box(&encoded)).unwrap()));
    group.finish();
    criterion
        .bench_function("connect_request_decode", |b| b.iter(|| HostBound::decode_frame(black_box(&connect)).unwrap()));
    criterion.final_summary();

    let encode = median_time(200, || {
        buffer.clear();
        black_box(&message).encode(&mut buffer);
        black_box(&buffer);
    });
    let encode_builder = median_time(200, || {
        buffer.clear();
        black_box(&builder).encode(true, &mut buffer);
        black_box(&buffer);
    });
    let build_and_encode = median_time(50, || {
        let mut fresh = ScanResponseBuilder::with_capacity(response.bss.len(), 64 * response.bss.len());
        for entry in black_box(&response.bss) {
            fresh.push(entry);
        }
        buffer.clear();
        fresh.encode(true, &mut buffer);
        black_box(&buffer);
    });
    let memcpy = median_time(200, || {
        copy.copy_from_slice(black_box(&encoded));
        black_box(&copy);
    });
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let ratio = |d: Duration| d.as_secs_f64() / memcpy.as_secs_f64();
    println!("summary: scan response of 1000 BSS = {} bytes; memcpy {:.2} us", encoded.len(), us(memcpy));
    println!("summary: encode GuestBound (owned entries) {:.2} us = {:.2}x memcpy", us(encode), ratio(encode));
    println!("summary: encode ScanResponseBuilder {:.2} us = {:.2}x memcpy", us(encode_builder), ratio(encode_builder));
    println!(
        "summary: copy entries into a builder + encode {:.2} us = {:.2}x memcpy",
        us(build_and_encode),
        ratio(build_and_encode)
    );
}
