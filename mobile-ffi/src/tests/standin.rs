//! A tiny HTTP/1.1 stand-in on `127.0.0.1:0`: one connection at a time, each answered by a
//! test's handler and closed. It records every request it reads.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use kobiri_core::sync::{SyncResponse, encode_response};

/// A request as the stand-in read it.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    /// Lower-case names.
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) body: Vec<u8>,
}

impl Request {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// The body, decompressed as its `Content-Encoding` says.
    pub(crate) fn plain_body(&self) -> Vec<u8> {
        match self.header("content-encoding") {
            Some("zstd") => zstd::decode_all(self.body.as_slice()).unwrap(),
            None => self.body.clone(),
            Some(other) => panic!("unexpected encoding {other}"),
        }
    }

    pub(crate) fn bearer(&self) -> Option<&str> {
        self.header("authorization")?.strip_prefix("Bearer ")
    }
}

/// What the stand-in does with a request.
pub(crate) enum Reply {
    Answer {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
    /// Closes the connection without a word, as a dropped 2G link would.
    HangUp,
}

impl Reply {
    pub(crate) fn json(status: u16, value: &serde_json::Value) -> Reply {
        Reply::Answer {
            status,
            headers: vec![("Content-Type", "application/json".to_owned())],
            body: value.to_string().into_bytes(),
        }
    }

    pub(crate) fn error(status: u16, code: &str, detail: &str) -> Reply {
        Reply::json(
            status,
            &serde_json::json!({ "detail": detail, "code": code, "errors": [] }),
        )
    }

    /// `GET /api/v1/auth/me` for `user`, with platform role `role`.
    pub(crate) fn me(user: uuid::Uuid, role: &str) -> Reply {
        Reply::json(
            200,
            &serde_json::json!({
                "id": user, "email": "awa@example.sn", "phone": "+221771234567",
                "first_name": "Awa", "last_name": "Diop", "full_name": "Awa Diop",
                "role": role, "is_active": true, "is_verified": true
            }),
        )
    }

    pub(crate) fn tokens(access: &str, refresh: &str) -> Reply {
        Reply::json(
            200,
            &serde_json::json!({
                "access_token": access, "refresh_token": refresh,
                "token_type": "bearer", "expires_in": 900
            }),
        )
    }

    /// A CBOR answer, zstd-compressed as a server that honours `Accept-Encoding` would.
    pub(crate) fn sync(response: &SyncResponse) -> Reply {
        Reply::Answer {
            status: 200,
            headers: vec![
                ("Content-Type", "application/cbor".to_owned()),
                ("Content-Encoding", "zstd".to_owned()),
            ],
            body: zstd::encode_all(encode_response(response).as_slice(), 3).unwrap(),
        }
    }
}

type Handler = Box<dyn FnMut(&Request) -> Reply + Send>;

/// The running stand-in; stops when dropped.
pub(crate) struct StandIn {
    pub(crate) url: String,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StandIn {
    pub(crate) fn start(handler: impl FnMut(&Request) -> Reply + Send + 'static) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_log, thread_stop) = (Arc::clone(&log), Arc::clone(&stop));
        let mut handler: Handler = Box::new(handler);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if thread_stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                serve(stream, &mut handler, &thread_log);
            }
        });
        StandIn {
            url: format!("http://{addr}"),
            addr,
            log,
            stop,
            thread: Some(thread),
        }
    }

    pub(crate) fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }

    pub(crate) fn paths(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.path).collect()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request (keep-alive is not offered: every answer closes the connection).
fn serve(stream: TcpStream, handler: &mut Handler, log: &Mutex<Vec<Request>>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut words = line.split_whitespace();
    let method = words.next().unwrap_or_default().to_owned();
    let path = words.next().unwrap_or_default().to_owned();
    let mut headers = BTreeMap::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let request = Request {
        method,
        path,
        headers,
        body,
    };
    let reply = handler(&request);
    log.lock().unwrap().push(request);
    let mut stream = reader.into_inner();
    if let Reply::Answer {
        status,
        headers,
        body,
    } = reply
    {
        let mut head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("Connection: close\r\n\r\n");
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&body);
        let _ = stream.flush();
    }
}
