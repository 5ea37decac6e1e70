//! TLS handshakes against the SNI certificate store with 1 and with 10,000
//! custom-domain certificates loaded, and the memory each loaded certificate costs.
//!
//! Run: `cargo bench -p portico-core --bench tls -- [CERTIFICATES] [--handshakes N]`
//! (defaults: 10,000 certificates, 5,000 handshakes per case). The certificates are
//! generated locally with rcgen (ECDSA P-256 leaves signed by one CA), loaded the way
//! the server loads stored ones (PEM chain + PKCS#8 key → `CertifiedKey`), and the
//! handshakes run in memory between a rustls client (session resumption off) and
//! the server configuration the HTTPS listener uses (`domains::tls::server_config`),
//! each to a random host, so the figure is the CPU cost of a full TLS 1.3 handshake
//! on both sides, certificate verification included, without the network. Memory is the process's resident size before and after loading.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Instant;

use portico_core::domains::tls::{CertStore, certified_key, server_config};
use rand::Rng;
use rustls::pki_types::ServerName;

mod common;

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

struct Pki {
    ca_pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

fn pki() -> anyhow::Result<Pki> {
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Portico bench CA");
    let ca_pem = params.self_signed(&key)?.pem();
    Ok(Pki {
        ca_pem,
        issuer: rcgen::Issuer::new(params, key),
    })
}

/// PEM chain and key for `host`.
fn leaf(pki: &Pki, host: &str) -> anyhow::Result<(String, String)> {
    let key = rcgen::KeyPair::generate()?;
    let params = rcgen::CertificateParams::new(vec![host.to_owned()])?;
    let cert = params.signed_by(&key, &pki.issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn host(i: usize) -> String {
    format!("help{i}.customer{}.example", i % 97)
}

/// One full handshake in memory; returns whether it completed.
fn handshake(
    server: &Arc<rustls::ServerConfig>,
    client: &Arc<rustls::ClientConfig>,
    name: &str,
) -> anyhow::Result<()> {
    let mut client_conn =
        rustls::ClientConnection::new(client.clone(), ServerName::try_from(name.to_owned())?)?;
    let mut server_conn = rustls::ServerConnection::new(server.clone())?;
    let mut buffer = Vec::with_capacity(8192);
    for _ in 0..10 {
        buffer.clear();
        while client_conn.wants_write() {
            client_conn.write_tls(&mut buffer)?;
        }
        if !buffer.is_empty() {
            server_conn.read_tls(&mut buffer.as_slice())?;
            server_conn.process_new_packets()?;
        }
        buffer.clear();
        while server_conn.wants_write() {
            server_conn.write_tls(&mut buffer)?;
        }
        if !buffer.is_empty() {
            client_conn.read_tls(&mut buffer.as_slice())?;
            client_conn.process_new_packets()?;
        }
        if !client_conn.is_handshaking() && !server_conn.is_handshaking() {
            // Exchange a byte of application data, so the session is really usable.
            client_conn.writer().write_all(b"x")?;
            buffer.clear();
            client_conn.write_tls(&mut buffer)?;
            server_conn.read_tls(&mut buffer.as_slice())?;
            server_conn.process_new_packets()?;
            let mut byte = [0u8; 1];
            server_conn.reader().read_exact(&mut byte)?;
            return Ok(());
        }
    }
    anyhow::bail!("handshake with {name} did not complete")
}

fn run_case(
    store: &Arc<CertStore>,
    client: &Arc<rustls::ClientConfig>,
    hosts: usize,
    handshakes: usize,
) -> anyhow::Result<(f64, Vec<f64>)> {
    let server = Arc::new(server_config(store.clone()));
    let mut rng = rand::rng();
    for i in 0..50 {
        handshake(&server, client, &host(i % hosts))?;
    }
    let mut samples = Vec::with_capacity(handshakes);
    let started = Instant::now();
    for _ in 0..handshakes {
        let name = host(rng.random_range(0..hosts));
        let one = Instant::now();
        handshake(&server, client, &name)?;
        samples.push(one.elapsed().as_nanos() as f64);
    }
    let rate = handshakes as f64 / started.elapsed().as_secs_f64();
    Ok((rate, samples))
}

fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let certificates: usize = common::positional(&args, &["--handshakes"])
        .first()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let handshakes: usize = common::option(&args, "--handshakes")
        .and_then(|n| n.parse().ok())
        .unwrap_or(5_000);

    let pki = pki()?;
    let generated = Instant::now();
    let mut pems = Vec::with_capacity(certificates);
    for i in 0..certificates {
        pems.push((host(i), leaf(&pki, &host(i))?));
    }
    let generated = generated.elapsed();

    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(pki.ca_pem.as_bytes()) {
        roots.add(cert?)?;
    }
    // Full handshakes every time: no session resumption (which would favour the
    // one-certificate case, where every handshake goes to the same host).
    let mut client = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.resumption = rustls::client::Resumption::disabled();
    let client = Arc::new(client);

    // One certificate loaded.
    let one = Arc::new(CertStore::new("bench.example", None));
    let (name, (chain, key)) = &pems[0];
    one.replace(HashMap::from([(
        name.clone(),
        Arc::new(certified_key(chain, key)?),
    )]));
    let (rate_one, samples_one) = run_case(&one, &client, 1, handshakes)?;

    // All of them, loaded as the server loads stored certificates.
    let before = resident_kib();
    let loading = Instant::now();
    let mut loaded = HashMap::with_capacity(certificates);
    for (name, (chain, key)) in &pems {
        loaded.insert(name.clone(), Arc::new(certified_key(chain, key)?));
    }
    let many = Arc::new(CertStore::new("bench.example", None));
    many.replace(loaded);
    let loading = loading.elapsed();
    let after = resident_kib();
    drop(pems);
    let (rate_many, samples_many) = run_case(&many, &client, certificates, handshakes)?;

    // Lookup alone.
    let lookups = 1_000_000;
    let mut rng = rand::rng();
    let names: Vec<String> = (0..1000)
        .map(|_| host(rng.random_range(0..certificates)))
        .collect();
    let started = Instant::now();
    let mut found = 0usize;
    for i in 0..lookups {
        found += usize::from(many.lookup(&names[i % names.len()]).is_some());
    }
    let lookup_ns = started.elapsed().as_nanos() as f64 / lookups as f64;
    anyhow::ensure!(found == lookups, "every generated host is found");

    let summary = |samples: Vec<f64>| {
        let sorted = common::sorted(samples);
        format!(
            "p50 {:.0} µs, p99 {:.0} µs",
            common::quantile(&sorted, 0.5) / 1000.0,
            common::quantile(&sorted, 0.99) / 1000.0
        )
    };
    println!(
        "TLS handshakes (in memory, TLS 1.3, ECDSA P-256, both sides on one core), {handshakes} per case"
    );
    println!(
        "  1 certificate loaded: {rate_one:.0} handshakes/s, {}",
        summary(samples_one)
    );
    println!(
        "  {certificates} certificates loaded: {rate_many:.0} handshakes/s, {}",
        summary(samples_many)
    );
    println!(
        "  SNI lookup among {certificates}: {lookup_ns:.0} ns; generated in {:.1} s, loaded in {:.0} ms",
        generated.as_secs_f64(),
        loading.as_secs_f64() * 1000.0
    );
    println!(
        "  resident memory for {certificates} loaded certificates: {} KiB ({:.2} KiB each)",
        after.saturating_sub(before),
        after.saturating_sub(before) as f64 / certificates as f64
    );
    Ok(())
}
