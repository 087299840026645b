//! A fault-injecting HTTP proxy between awscreds and the IAM emulator. It reads each request's
//! IAM action (`Action=CreateUser` in the form body) and, by rule, throttles it, fails it with a
//! 5xx or a chosen error, forwards it and then drops the connection (the answer is lost), delays
//! it, holds it forever, or answers it with a canned body. Everything it saw is recorded. A token
//! bucket ([`Proxy::rate_limit`]) stands in for IAM's request rate limit: beyond it, every
//! request is answered with IAM's own 400 `Throttling` error.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub enum Fault {
    /// 400 Throttling, as IAM's rate limiting answers.
    Throttle,
    /// 400 Throttling, "Rate exceeded", word for word as IAM answers beyond its request rate
    /// (what [`Proxy::rate_limit`] answers).
    RateExceeded,
    /// 500 InternalFailure.
    ServerError,
    /// An IAM error with this HTTP status and code.
    Error(u16, &'static str),
    /// Forward to the emulator (so the action happens), then close the connection unanswered.
    Reset,
    /// Wait this long, then forward.
    Delay(Duration),
    /// Never forward, never answer (until the test process ends).
    Hang,
    /// Answer 200 with this body, without asking the emulator.
    Stub(String),
    /// Until this instant, answer 403 with this code (a new key IAM does not know yet); then
    /// forward.
    RefuseUntil(Instant, &'static str),
}

#[derive(Debug, Clone)]
struct Rule {
    fault: Fault,
    /// How many more requests it applies to; `None`: all.
    times: Option<u32>,
}

#[derive(Default)]
struct State {
    rules: HashMap<String, Rule>,
    /// Actions in the order they arrived.
    seen: Vec<String>,
    /// The same, with the `UserName` each named (empty when none).
    seen_users: Vec<(String, String)>,
    /// Actions forwarded to the emulator, with their `UserName`, in the order they completed.
    forwarded: Vec<(String, String)>,
    /// When `RefuseUntil` refused a request.
    refused_at: Vec<Instant>,
    /// IAM's rate limit, when one is set.
    bucket: Option<Bucket>,
    /// Requests the bucket refused.
    throttled: usize,
}

/// At most `rate` requests a second, and bursts of at most `capacity`.
struct Bucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    refilled: Instant,
}

impl Bucket {
    /// Whether a request may go now (and takes its token); a refused one takes nothing.
    fn take(&mut self) -> bool {
        let now = Instant::now();
        let earned = (now - self.refilled).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + earned).min(self.capacity);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// IAM's answer beyond its request rate, as real IAM words it.
const RATE_EXCEEDED: &str = "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
    <Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>\
    <RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>";

pub struct Proxy {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl Proxy {
    pub fn start(upstream: &str) -> Proxy {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (state, upstream) = (shared.clone(), upstream.clone());
                std::thread::spawn(move || serve(conn, &upstream, &state));
            }
        });
        Proxy { url, state }
    }

    /// Applies `fault` to the next `times` requests for `action` (`None`: to all of them).
    pub fn fault(&self, action: &str, fault: Fault, times: Option<u32>) {
        self.state
            .lock()
            .unwrap()
            .rules
            .insert(action.to_string(), Rule { fault, times });
    }

    /// From now on, at most `per_second` requests a second (bursts of at most `burst`); beyond
    /// that, IAM's 400 Throttling, "Rate exceeded".
    pub fn rate_limit(&self, per_second: f64, burst: f64) {
        self.state.lock().unwrap().bucket = Some(Bucket {
            rate: per_second,
            capacity: burst,
            tokens: burst,
            refilled: Instant::now(),
        });
    }

    /// When each request refused by a `RefuseUntil` fault was answered.
    pub fn refused_at(&self) -> Vec<Instant> {
        self.state.lock().unwrap().refused_at.clone()
    }

    /// How many requests the rate limit refused.
    pub fn throttled(&self) -> usize {
        self.state.lock().unwrap().throttled
    }

    /// The `UserName` of every `action` request that was forwarded to the emulator (so was
    /// carried out there), in the order they completed.
    pub fn forwarded_users_of(&self, action: &str) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .forwarded
            .iter()
            .filter(|(a, _)| a == action)
            .map(|(_, u)| u.clone())
            .collect()
    }

    pub fn clear(&self, action: &str) {
        self.state.lock().unwrap().rules.remove(action);
    }

    pub fn seen(&self) -> Vec<String> {
        self.state.lock().unwrap().seen.clone()
    }

    /// The `UserName` of every `action` request that arrived, in order (repeats included).
    pub fn users_of(&self, action: &str) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .seen_users
            .iter()
            .filter(|(a, _)| a == action)
            .map(|(_, u)| u.clone())
            .collect()
    }

    pub fn count(&self, action: &str) -> usize {
        self.seen().iter().filter(|a| *a == action).count()
    }

    /// Waits until `action` has arrived `n` times in all.
    #[track_caller]
    pub fn wait_seen(&self, action: &str, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.count(action) < n {
            assert!(
                Instant::now() < deadline,
                "{action} never arrived: {:?}",
                self.seen()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until `action` has been forwarded to the emulator and answered there.
    #[track_caller]
    pub fn wait_forwarded(&self, action: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self
            .state
            .lock()
            .unwrap()
            .forwarded
            .iter()
            .any(|(a, _)| a == action)
        {
            assert!(
                Instant::now() < deadline,
                "{action} never reached the emulator"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// One HTTP request, as read from the client.
struct Request {
    head: String,
    body: Vec<u8>,
}

fn read_request(conn: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match conn.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body).ok()?;
    Some(Request { head, body })
}

fn action_of(body: &[u8]) -> String {
    let body = String::from_utf8_lossy(body);
    body.split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .unwrap_or("?")
        .to_string()
}

fn param_of(body: &[u8], name: &str) -> String {
    let body = String::from_utf8_lossy(body);
    let prefix = format!("{name}=");
    body.split('&')
        .find_map(|kv| kv.strip_prefix(prefix.as_str()))
        .unwrap_or("")
        .to_string()
}

fn respond(conn: &mut TcpStream, status: u16, body: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        409 => "Conflict",
        _ => "Error",
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
}

fn error_body(code: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error>\
         <Type>Sender</Type><Code>{code}</Code><Message>injected by the test proxy</Message>\
         </Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    )
}

/// Sends the request to the emulator on a connection of its own and returns the raw answer.
fn forward(upstream: &str, request: &Request) -> Option<Vec<u8>> {
    let mut up = TcpStream::connect(upstream).ok()?;
    let mut head = String::new();
    for line in request.head.trim_end().lines() {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            head.push_str(line);
            head.push_str("\r\n");
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    up.write_all(head.as_bytes()).ok()?;
    up.write_all(&request.body).ok()?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).ok()?;
    Some(answer)
}

fn serve(mut conn: TcpStream, upstream: &str, state: &Mutex<State>) {
    while let Some(request) = read_request(&mut conn) {
        let action = action_of(&request.body);
        let user = param_of(&request.body, "UserName");
        let fault = {
            let mut state = state.lock().unwrap();
            state.seen.push(action.clone());
            state.seen_users.push((action.clone(), user.clone()));
            let over_the_limit = state.bucket.as_mut().is_some_and(|b| !b.take());
            if over_the_limit {
                state.throttled += 1;
            }
            match state.rules.get_mut(&action) {
                _ if over_the_limit => Some(Fault::RateExceeded),
                Some(rule) if rule.times != Some(0) => {
                    if let Some(n) = rule.times.as_mut() {
                        *n -= 1;
                    }
                    Some(rule.fault.clone())
                }
                _ => None,
            }
        };
        let record = |state: &Mutex<State>| {
            let mut state = state.lock().unwrap();
            state.forwarded.push((action.clone(), user.clone()))
        };
        match fault {
            Some(Fault::RateExceeded) => respond(&mut conn, 400, RATE_EXCEEDED),
            Some(Fault::Throttle) => respond(&mut conn, 400, &error_body("Throttling")),
            Some(Fault::ServerError) => respond(&mut conn, 500, &error_body("InternalFailure")),
            Some(Fault::Error(status, code)) => respond(&mut conn, status, &error_body(code)),
            Some(Fault::Stub(body)) => respond(&mut conn, 200, &body),
            Some(Fault::RefuseUntil(until, code)) if Instant::now() < until => {
                state.lock().unwrap().refused_at.push(Instant::now());
                respond(&mut conn, 403, &error_body(code))
            }
            Some(Fault::RefuseUntil(..)) => {
                let answer = forward(upstream, &request);
                record(state);
                match answer {
                    Some(a) if conn.write_all(&a).is_ok() => {}
                    _ => return,
                }
            }
            Some(Fault::Hang) => {
                std::thread::sleep(Duration::from_secs(600));
                return;
            }
            Some(Fault::Reset) => {
                let _ = forward(upstream, &request);
                record(state);
                let _ = conn.shutdown(Shutdown::Both);
                return;
            }
            Some(Fault::Delay(d)) => {
                std::thread::sleep(d);
                let answer = forward(upstream, &request);
                record(state);
                match answer {
                    Some(a) if conn.write_all(&a).is_ok() => {}
                    _ => return,
                }
            }
            None => {
                let answer = forward(upstream, &request);
                record(state);
                match answer {
                    Some(a) if conn.write_all(&a).is_ok() => {}
                    _ => return,
                }
            }
        }
    }
}
