//! The delay proxy of tests/support itself: that it delays each direction and that its trace
//! counts a connection's round trips as the client lived them, since the latency benchmark
//! (tests/benches/latency.rs) reports that count as shoal's against OpenSSH's. Needs no root:
//! the upstream here is a plain echo server on 127.0.0.1.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{DelayProxy, Direction};

const LATENCY: Duration = Duration::from_millis(30);

/// Greets the client as it connects (as an SSH server sends its version line first), then
/// echoes every chunk back, but for a goodbye (`bye`), until the client closes.
fn echo_server() -> SocketAddrV4 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind the echo server");
    let std::net::SocketAddr::V4(addr) = listener.local_addr().expect("its address") else {
        unreachable!("bound to an IPv4 address")
    };
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        stream.write_all(b"hello").expect("greet");
        let mut buffer = [0; 1024];
        while let Ok(n @ 1..) = stream.read(&mut buffer) {
            if &buffer[..n] != b"bye" && stream.write_all(&buffer[..n]).is_err() {
                return;
            }
        }
    });
    addr
}

fn read_exactly(stream: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut answer = vec![0; len];
    stream.read_exact(&mut answer).expect("the echo");
    answer
}

#[test]
fn the_trace_counts_each_wait_for_an_answer_as_one_round_trip() {
    let proxy = DelayProxy::start(
        SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0),
        echo_server(),
        LATENCY,
    );
    let mut client = TcpStream::connect(proxy.addr()).expect("connect to the proxy");
    client.set_nodelay(true).expect("nodelay");

    // A request sent at once, and a second one as soon as the greeting arrives: the
    // greeting was on its way before the first request reached the server, so it answers
    // nothing, and both requests wait for the same round trip (as an SSH client's version
    // line and key exchange init do).
    let sent = Instant::now();
    client.write_all(b"one").expect("send");
    assert_eq!(read_exactly(&mut client, 5), b"hello");
    client.write_all(b"two").expect("send");
    assert_eq!(read_exactly(&mut client, 6), b"onetwo");
    assert!(
        sent.elapsed() >= 2 * LATENCY,
        "answered after {:?}",
        sent.elapsed()
    );
    // A request that waits for its answer: one more, of 2 × LATENCY.
    let sent = Instant::now();
    client.write_all(b"three").expect("send");
    assert_eq!(read_exactly(&mut client, 5), b"three");
    assert!(
        sent.elapsed() >= 2 * LATENCY,
        "answered after {:?}",
        sent.elapsed()
    );
    // Two requests sent without waiting in between, then both answers: one more.
    client.write_all(b"four").expect("send");
    client.write_all(b"five").expect("send");
    assert_eq!(read_exactly(&mut client, 8), b"fourfive");
    // A goodbye nothing answers is no round trip.
    client.write_all(b"bye").expect("send");
    drop(client);
    // The proxy records an answer just after writing it: let it catch up.
    thread::sleep(2 * LATENCY);

    let traces = proxy.take_traces();
    assert_eq!(traces.len(), 1, "one connection");
    let trace = &traces[0];
    assert_eq!(trace.round_trips(), 3, "{trace:?}");
    let bytes = |direction| {
        trace
            .events
            .iter()
            .filter(|e| e.direction == direction)
            .map(|e| e.bytes)
            .sum::<usize>()
    };
    assert_eq!(bytes(Direction::ToServer), 3 + 3 + 5 + 8 + 3);
    assert_eq!(bytes(Direction::ToClient), 5 + 3 + 3 + 5 + 8);
    assert!(
        trace.events.windows(2).all(|w| w[0].at <= w[1].at),
        "events in the order the client saw them: {trace:?}"
    );
    for event in &trace.events {
        let server_at = event.server_at.expect("every chunk went through");
        let delay = match event.direction {
            Direction::ToServer => server_at - event.at,
            Direction::ToClient => event.at - server_at,
        };
        assert!(delay >= LATENCY, "each chunk delayed: {event:?}");
    }
    assert!(proxy.take_traces().is_empty(), "taken once");
}
