//! Fetching against a local HTTP server the test starts (no internet): success and conditional
//! requests, 404, 500, timeouts, truncated bodies and a changed layout.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use settle_core::parse_date;

use crate::fetch::{Ecb, FetchError, FetchPolicy, Fetched, fetch_into_store, snapshot_path, snapshots};

/// What the server does for one request.
#[derive(Clone)]
enum Reply {
    /// Status, extra headers, body.
    Full(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// 304 when the request carries this `If-None-Match`, else a full 200 with the body.
    Conditional(String, Vec<u8>),
    /// Claims `Content-Length: claimed`, sends `body`, closes.
    Truncated(usize, Vec<u8>),
    /// Accepts and says nothing for this long.
    Silent(Duration),
}

/// Serves `replies` in order (one per connection) on 127.0.0.1; returns the base URL and the request
/// heads it received.
fn serve(replies: Vec<Reply>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for reply in replies {
            let Ok((mut stream, _)) = listener.accept() else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            log.lock().unwrap().push(head.clone());
            let respond = |stream: &mut std::net::TcpStream,
                           status: u16,
                           headers: &[(&str, String)],
                           body: &[u8],
                           length: usize| {
                let mut out = format!("HTTP/1.1 {status} X\r\nContent-Length: {length}\r\nConnection: close\r\n");
                for (k, v) in headers {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("\r\n");
                let _ = stream.write_all(out.as_bytes());
                let _ = stream.write_all(body);
            };
            match reply {
                Reply::Full(status, headers, body) => respond(&mut stream, status, &headers, &body, body.len()),
                Reply::Conditional(etag, body) => {
                    if head.to_ascii_lowercase().contains(&format!("if-none-match: {}", etag.to_ascii_lowercase())) {
                        respond(&mut stream, 304, &[("ETag", etag)], b"", 0);
                    } else {
                        respond(&mut stream, 200, &[("ETag", etag)], &body, body.len());
                    }
                }
                Reply::Truncated(claimed, body) => respond(&mut stream, 200, &[], &body, claimed),
                Reply::Silent(wait) => {
                    std::thread::sleep(wait);
                    let mut sink = [0u8; 1];
                    let _ = stream.read(&mut sink);
                }
            }
        }
    });
    (url, seen)
}

fn feed() -> Vec<u8> {
    std::fs::read(format!("{}/../../fixtures/ecb/eurofxref-daily-2022-07-08.xml", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn ecb(url: &str) -> Ecb {
    Ecb { base_url: url.to_string(), today: parse_date("2022-07-10").unwrap() }
}

const QUICK: FetchPolicy = FetchPolicy {
    connect_timeout: Duration::from_secs(2),
    timeout: Duration::from_millis(400),
    attempts: 3,
    backoff: Duration::from_millis(5),
};

#[test]
fn stores_a_snapshot_then_a_conditional_request_keeps_it() {
    let store = tempfile::tempdir().unwrap();
    let etag = "\"v1\"".to_string();
    let (url, seen) = serve(vec![Reply::Conditional(etag.clone(), feed()), Reply::Conditional(etag, feed())]);
    let first = fetch_into_store(&ecb(&url), None, store.path(), QUICK).unwrap();
    let Fetched::Stored(snapshot) = first else { panic!("stored: {first:?}") };
    assert_eq!((snapshot.days, snapshot.newest.as_deref()), (1, Some("2022-07-08")));
    assert!(snapshot.url.ends_with("/eurofxref-hist.xml"));
    let stored = std::fs::read(snapshot_path(store.path(), "ecb", &snapshot)).unwrap();
    assert_eq!(stored, feed());
    let second = fetch_into_store(&ecb(&url), None, store.path(), QUICK).unwrap();
    assert!(matches!(second, Fetched::Unchanged(_)), "{second:?}");
    assert!(seen.lock().unwrap()[1].to_ascii_lowercase().contains("if-none-match: \"v1\""));
    assert_eq!(snapshots(store.path(), "ecb").unwrap().len(), 1);
    // A recent --since asks for the 90-day feed.
    assert!(
        crate::fetch::RateProvider::url(&ecb(&url), Some(parse_date("2022-07-01").unwrap()))
            .ends_with("eurofxref-hist-90d.xml")
    );
}

#[test]
fn server_errors_are_retried_and_not_found_is_not() {
    let store = tempfile::tempdir().unwrap();
    let (url, seen) = serve(vec![Reply::Full(500, vec![], b"oops".to_vec()), Reply::Full(200, vec![], feed())]);
    assert!(matches!(fetch_into_store(&ecb(&url), None, store.path(), QUICK).unwrap(), Fetched::Stored(_)));
    assert_eq!(seen.lock().unwrap().len(), 2);

    let (url, seen) = serve(vec![Reply::Full(404, vec![], b"no".to_vec()), Reply::Full(200, vec![], feed())]);
    let e = fetch_into_store(&ecb(&url), None, tempfile::tempdir().unwrap().path(), QUICK).unwrap_err();
    assert!(matches!(e, FetchError::Status { status: 404, .. }), "{e}");
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(seen.lock().unwrap().len(), 1, "a 404 is not retried");

    let (url, _) = serve(vec![Reply::Full(503, vec![], vec![]); 3]);
    let e = fetch_into_store(&ecb(&url), None, tempfile::tempdir().unwrap().path(), QUICK).unwrap_err().to_string();
    assert!(e.contains("HTTP 503 (after retries)"), "{e}");
}

#[test]
fn timeouts_and_truncated_bodies_fail_after_bounded_retries() {
    let (url, seen) = serve(vec![Reply::Silent(Duration::from_millis(900)); 2]);
    let policy = FetchPolicy { attempts: 2, ..QUICK };
    let e = fetch_into_store(&ecb(&url), None, tempfile::tempdir().unwrap().path(), policy).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, FetchError::Transport { attempts: 2, .. }) && text.contains("timed out"), "{text}");
    // The server answers one connection at a time: let it reach the second one.
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(seen.lock().unwrap().len(), 2);

    let body = feed();
    let (url, _) = serve(vec![Reply::Truncated(body.len(), body[..200].to_vec()); 3]);
    let store = tempfile::tempdir().unwrap();
    let e = fetch_into_store(&ecb(&url), None, store.path(), QUICK).unwrap_err();
    assert!(matches!(e, FetchError::Transport { attempts: 3, .. }), "{e}");
    assert!(snapshots(store.path(), "ecb").unwrap().is_empty(), "nothing stored");
}

#[test]
fn a_changed_layout_is_refused_and_nothing_is_stored() {
    let (url, _) = serve(vec![Reply::Full(200, vec![], b"<html><body>We moved</body></html>".to_vec())]);
    let store = tempfile::tempdir().unwrap();
    let e = fetch_into_store(&ecb(&url), None, store.path(), QUICK).unwrap_err().to_string();
    assert!(e.contains("not a complete rates file") && e.contains("not an ECB rate file"), "{e}");
    assert!(snapshots(store.path(), "ecb").unwrap().is_empty());
}
