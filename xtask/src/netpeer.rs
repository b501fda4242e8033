//! The host's side of the network tests, all on 127.0.0.1 and all Rust std: a tiny HTTP/1.0
//! file server (what the guest's `wget` fetches), a sink that hashes one connection's bytes
//! (what the guest's `nc` sends to), a sender with retries (to a guest `nc -l` through hostfwd),
//! an HTTP GET with retries (to the guest's `httpd` through hostfwd), and the test data.

use anyhow::{bail, Context, Result};
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::md5::Md5;

/// `len` bytes of a fixed pseudo-random sequence (xorshift64*, so a shifted or truncated copy
/// does not match by accident).
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Accepts one connection before `deadline` (polling a non-blocking listener).
pub fn accept_within(l: &TcpListener, deadline: Instant) -> Result<TcpStream> {
    l.set_nonblocking(true)?;
    loop {
        match l.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false)?;
                return Ok(s);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    bail!("no connection to 127.0.0.1:{} in time", l.local_addr()?.port());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// An HTTP/1.0 server on 127.0.0.1 serving fixed files, one connection at a time, until stopped.
pub struct HttpServer {
    pub port: u16,
    stop: Arc<AtomicBool>,
    /// The request lines received (`GET /big.bin HTTP/1.1`).
    pub requests: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

/// Reads a request head (to the blank line; at most 16 KiB) and returns its first line.
fn request_line(s: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        let n = s.read(&mut buf).ok().filter(|n| *n > 0)?;
        head.extend_from_slice(&buf[..n]);
        if head.len() > 16 * 1024 {
            return None;
        }
    }
    let text = String::from_utf8_lossy(&head);
    Some(text.lines().next().unwrap_or("").trim().to_string())
}

fn serve_one(mut s: TcpStream, files: &[(String, Arc<Vec<u8>>)], requests: &Mutex<Vec<String>>) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(60)));
    let Some(line) = request_line(&mut s) else { return };
    if let Ok(mut r) = requests.lock() {
        r.push(line.clone());
    }
    let mut words = line.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let file = files.iter().find(|(p, _)| p == path).map(|(_, d)| d);
    let result = match (method, file) {
        ("GET", Some(data)) => s
            .write_all(
                format!(
                    "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    data.len()
                )
                .as_bytes(),
            )
            .and_then(|_| s.write_all(data)),
        _ => s.write_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 10\r\nConnection: close\r\n\r\nnot found\n"),
    };
    if result.is_ok() {
        // The client reads to the end: half-close, then wait for its close (bounded).
        let _ = s.shutdown(Shutdown::Write);
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        let mut sink = [0u8; 4096];
        while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
    }
}

impl HttpServer {
    /// Serves `files` ((URL path, contents)) on a free port of 127.0.0.1.
    pub fn start(files: Vec<(String, Arc<Vec<u8>>)>) -> Result<HttpServer> {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("HTTP server: cannot bind 127.0.0.1:0")?;
        let port = l.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (stop2, req2) = (stop.clone(), requests.clone());
        let thread = std::thread::spawn(move || {
            for conn in l.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(s) = conn {
                    serve_one(s, &files, &req2);
                }
            }
        });
        Ok(HttpServer { port, stop, requests, thread: Some(thread) })
    }

    /// Stops the server (wakes its accept with a connection of its own).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, self.port).into(), Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What a sink received.
#[derive(Clone, Debug, PartialEq)]
pub struct Received {
    pub bytes: u64,
    pub md5: String,
    /// From the first byte to the end of stream.
    pub span: Duration,
}

/// Reads `s` to its end, hashing; then closes it.
pub fn drain(mut s: TcpStream, idle: Duration) -> Result<Received> {
    s.set_read_timeout(Some(idle))?;
    let mut md5 = Md5::new();
    let mut buf = vec![0u8; 256 * 1024];
    let (mut bytes, mut first) = (0u64, None);
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                first.get_or_insert_with(Instant::now);
                md5.update(&buf[..n]);
                bytes += n as u64;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => bail!("sink: reading after {bytes} bytes: {e}"),
        }
    }
    let span = first.map_or(Duration::ZERO, |f| f.elapsed());
    Ok(Received { bytes, md5: md5.hex(), span })
}

/// Accepts one connection on `l` within `wait` and drains it (`idle`: longest pause).
pub fn sink(l: TcpListener, wait: Duration, idle: Duration) -> JoinHandle<Result<Received>> {
    std::thread::spawn(move || {
        let s = accept_within(&l, Instant::now() + wait)?;
        drain(s, idle)
    })
}

/// One attempt of `send`: connect, write everything, half-close, read to the peer's end.
fn send_once(port: u16, data: &[u8], idle: Duration) -> std::io::Result<()> {
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    s.set_write_timeout(Some(idle))?;
    s.set_read_timeout(Some(idle))?;
    s.write_all(data)?;
    s.shutdown(Shutdown::Write)?;
    let mut rest = Vec::new();
    s.read_to_end(&mut rest)?;
    Ok(())
}

/// Sends `data` to 127.0.0.1:`port` (a hostfwd to a guest `nc -l`), again until `deadline` while
/// the connection fails (QEMU accepts on the host side first and resets the connection when
/// nothing listens in the guest yet). The number of attempts.
pub fn send(port: u16, data: &[u8], deadline: Instant, idle: Duration) -> Result<u32> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match send_once(port, data, idle) {
            Ok(()) => return Ok(attempts),
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => bail!("sending {} bytes to 127.0.0.1:{port}: {e} ({attempts} attempts)", data.len()),
        }
    }
}

/// An HTTP response: status line, body.
pub type Response = (String, Vec<u8>);

fn get_once(port: u16, path: &str) -> std::io::Result<Response> {
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nUser-Agent: xtask\r\n\r\n").as_bytes())?;
    let mut all = Vec::new();
    s.read_to_end(&mut all)?;
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").map(|i| (i, i + 4));
    let split = split.or_else(|| all.windows(2).position(|w| w == b"\n\n").map(|i| (i, i + 2)));
    let Some((head_end, body_start)) = split else {
        return Err(std::io::Error::new(ErrorKind::UnexpectedEof, format!("no HTTP head in {} bytes", all.len())));
    };
    let head = String::from_utf8_lossy(&all[..head_end]);
    let status = head.lines().next().unwrap_or("").trim().to_string();
    Ok((status, all[body_start..].to_vec()))
}

/// GET http://127.0.0.1:`port``path`, again until `deadline` while it fails (the guest's server
/// may not be up yet). The response and the number of attempts.
pub fn http_get(port: u16, path: &str, deadline: Instant) -> Result<(Response, u32)> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match get_once(port, path) {
            Ok(r) => return Ok((r, attempts)),
            Err(e) if Instant::now() >= deadline => bail!("GET 127.0.0.1:{port}{path}: {e} ({attempts} attempts)"),
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

/// The first 32-hex-digit word of `text` that is followed by `  <file>` (md5sum's line).
pub fn md5sum_of(text: &str, file: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        let (hash, name) = (w.next()?, w.next()?);
        (name == file && hash.len() == 32 && hash.chars().all(|c| c.is_ascii_hexdigit())).then(|| hash.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::md5;
    use crate::netcfg::listen_local;

    #[test]
    fn pattern_is_fixed_and_not_periodic() {
        let p = pattern(1 << 20, 7);
        assert_eq!(p.len(), 1 << 20);
        assert_eq!(p, pattern(1 << 20, 7));
        assert_ne!(p[..4096], p[4096..8192]);
        assert_ne!(pattern(64, 1), pattern(64, 2));
        assert_eq!(pattern(13, 5), pattern(64, 5)[..13]);
    }

    #[test]
    fn http_server_serves_files_and_404() {
        let data = Arc::new(pattern(3 << 20, 1));
        let mut srv = HttpServer::start(vec![("/big.bin".into(), data.clone())]).unwrap();
        let ((status, body), attempts) = http_get(srv.port, "/big.bin", Instant::now()).unwrap();
        assert_eq!((status.as_str(), attempts), ("HTTP/1.0 200 OK", 1));
        assert_eq!(md5::hex(&body), md5::hex(&data));
        let ((status, _), _) = http_get(srv.port, "/nope", Instant::now()).unwrap();
        assert!(status.contains("404"), "{status}");
        srv.stop();
        assert_eq!(*srv.requests.lock().unwrap(), ["GET /big.bin HTTP/1.0", "GET /nope HTTP/1.0"]);
    }

    #[test]
    fn http_get_retries_until_a_server_answers() {
        let port = crate::netcfg::free_port().unwrap();
        assert!(http_get(port, "/", Instant::now()).is_err());
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(700));
            let l = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
            let (mut s, _) = l.accept().unwrap();
            request_line(&mut s).unwrap();
            s.write_all(b"HTTP/1.0 200 OK\r\n\r\nhello exo").unwrap();
        });
        let ((status, body), attempts) = http_get(port, "/", Instant::now() + Duration::from_secs(10)).unwrap();
        t.join().unwrap();
        assert_eq!((status.as_str(), body.as_slice()), ("HTTP/1.0 200 OK", &b"hello exo"[..]));
        assert!(attempts > 1, "{attempts}");
    }

    #[test]
    fn sink_hashes_and_send_delivers() {
        let (l, port) = listen_local().unwrap();
        let got = sink(l, Duration::from_secs(10), Duration::from_secs(10));
        let data = pattern(5 << 20, 3);
        let attempts = send(port, &data, Instant::now() + Duration::from_secs(10), Duration::from_secs(10)).unwrap();
        let r = got.join().unwrap().unwrap();
        assert_eq!((r.bytes, r.md5, attempts), (5 << 20, md5::hex(&data), 1));
    }

    #[test]
    fn send_retries_while_nothing_listens_and_sink_times_out() {
        let port = crate::netcfg::free_port().unwrap();
        let start = Instant::now();
        assert!(send(port, b"x", start + Duration::from_millis(800), Duration::from_secs(1)).is_err());
        assert!(start.elapsed() >= Duration::from_millis(800));
        let (l, _) = listen_local().unwrap();
        let e = sink(l, Duration::from_millis(100), Duration::from_secs(1)).join().unwrap().unwrap_err();
        assert!(e.to_string().contains("no connection"), "{e}");
    }

    #[test]
    fn finds_md5sum_lines() {
        let out = "md5sum /tmp/big\n72d4ff27a28afbc066d5804999d5a504  /tmp/big\nstatus:0 @@1003@@";
        assert_eq!(md5sum_of(out, "/tmp/big").as_deref(), Some("72d4ff27a28afbc066d5804999d5a504"));
        assert_eq!(md5sum_of(out, "/tmp/other"), None);
        assert_eq!(md5sum_of("md5sum: /tmp/big: No such file or directory", "/tmp/big"), None);
    }
}
