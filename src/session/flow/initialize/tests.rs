//! Unit tests of `initialize.rs`.

use super::*;

fn num(n: &str) -> RequestId {
    RequestId::Number(n.to_owned())
}

#[test]
fn judge_reads_result_error_and_other_ids() {
    let one = num("1");
    let ok = br#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18"}}"#;
    assert_eq!(
        judge(ok, &one),
        Some(Answer::Result {
            version: Some(ProtocolVersion::V2025_06_18)
        })
    );
    let err = br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"x"}}"#;
    assert_eq!(judge(err, &one), Some(Answer::Error));
    assert_eq!(judge(ok, &num("2")), None);
    assert_eq!(judge(ok, &RequestId::String("1".into())), None);
    assert_eq!(judge(br#"{"jsonrpc":"2.0","method":"x"}"#, &one), None);
    assert_eq!(judge(b"not json", &one), None);
    // A result that is not an object is no InitializeResult.
    assert_eq!(
        judge(br#"{"jsonrpc":"2.0","id":1,"result":null}"#, &one),
        Some(Answer::Error)
    );
    // Numbers compare by value; an unknown answered version is not recorded.
    let float = br#"{"jsonrpc":"2.0","id":1.0,"result":{"protocolVersion":"1999-01-01"}}"#;
    assert_eq!(judge(float, &one), Some(Answer::Result { version: None }));
}

#[test]
fn sse_scan_across_chunks_and_line_endings() {
    let id = num("7");
    let stream = b"\xEF\xBB\xBF: comment\r\nevent: message\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"n\"}\r\n\r\nid: 3\rdata: {\"jsonrpc\":\"2.0\",\r\ndata: \"id\":7,\"result\":{}}\r\r";
    for split in 0..stream.len() {
        let mut scan = SseScan::default();
        let first = scan.feed(&stream[..split], &id);
        let got = match first {
            Scan::Pending => scan.feed(&stream[split..], &id),
            other => other,
        };
        assert_eq!(
            got,
            Scan::Answered(Answer::Result { version: None }),
            "split at {split}"
        );
    }
}

/// Issue 26, finding 14: a server-to-client request (a `method`) that
/// reuses the `initialize` id, and an event of another type than
/// `message`, are not the answer; the `result` that follows commits.
#[test]
fn finding_14_server_requests_and_named_events_are_not_the_answer() {
    let id = num("0");
    let request = br#"{"jsonrpc":"2.0","id":0,"method":"elicitation/create","error":{"code":1,"message":"x"}}"#;
    assert_eq!(
        judge(request, &id),
        None,
        "a request, whatever else it says"
    );
    let streams: [&[u8]; 3] = [
        b"data: {\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"sampling/createMessage\",\"params\":{}}\n\n\
data: {\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{}}\n\n",
        b"event: debug\ndata: {\"jsonrpc\":\"2.0\",\"id\":0,\"error\":{\"code\":-1,\"message\":\"x\"}}\n\n\
event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{}}\n\n",
        b"event: ping\ndata: {\"jsonrpc\":\"2.0\",\"id\":0,\"error\":{\"code\":-1,\"message\":\"x\"}}\n\n\
data: {\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{}}\n\n",
    ];
    for stream in streams {
        let mut scan = SseScan::default();
        assert_eq!(
            scan.feed(stream, &id),
            Scan::Answered(Answer::Result { version: None }),
            "{}",
            String::from_utf8_lossy(stream)
        );
    }
}

#[test]
fn sse_scan_never_dispatches_a_cut_off_event() {
    let id = num("1");
    let mut scan = SseScan::default();
    let got = scan.feed(b"data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n", &id);
    assert_eq!(got, Scan::Pending);
}

#[test]
fn sse_scan_gives_up_on_huge_events() {
    let id = num("1");
    let mut scan = SseScan::default();
    let mut big = b"data: ".to_vec();
    big.resize(MAX_ANSWER_BYTES + 10, b'a');
    assert_eq!(scan.feed(&big, &id), Scan::TooLarge);
}

mod properties {
    use super::super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Event {
        Notification,
        Comment,
        OtherId,
        Garbage,
        Result,
        Error,
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            Just(Event::Notification),
            Just(Event::Comment),
            Just(Event::OtherId),
            Just(Event::Garbage),
            Just(Event::Result),
            Just(Event::Error),
        ]
    }

    /// The data lines of one event: the JSON is split at its commas into
    /// `data:` lines (joined by LF, which is JSON whitespace).
    fn render(event: &Event, id: &str, split: bool, eol: &str) -> String {
        let json = match event {
            Event::Comment => return format!(": keep-alive{eol}{eol}"),
            Event::Notification => {
                r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{}}"#.to_owned()
            }
            Event::OtherId => r#"{"jsonrpc":"2.0","id":"someone-else","result":{}}"#.to_owned(),
            Event::Garbage => "not json at all".to_owned(),
            Event::Result => format!(
                r#"{{"jsonrpc":"2.0","id":{id},"result":{{"protocolVersion":"2025-06-18"}}}}"#
            ),
            Event::Error => {
                format!(r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":-1,"message":"no"}}}}"#)
            }
        };
        let mut out = format!("event: message{eol}id: 1{eol}");
        let lines: Vec<&str> = if split {
            json.split_inclusive(',').collect()
        } else {
            vec![&json]
        };
        for line in lines {
            out.push_str("data: ");
            out.push_str(line);
            out.push_str(eol);
        }
        out.push_str(eol);
        out
    }

    proptest! {
        /// Issue 12 commit rule: the first event answering the request id
        /// decides, whatever the line endings, the `data:` line splits and
        /// the chunk boundaries; a stream without one decides nothing.
        #[test]
        fn sse_scan_matches_its_model(
            events in proptest::collection::vec(event(), 0..6),
            numeric in any::<bool>(),
            split in any::<bool>(),
            eol in proptest::sample::select(vec!["\n", "\r\n", "\r"]),
            cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..8),
        ) {
            let (text, id) = if numeric {
                ("42", RequestId::Number("42".into()))
            } else {
                (r#""req-1""#, RequestId::String("req-1".into()))
            };
            let stream: String = events.iter().map(|e| render(e, text, split, eol)).collect();
            let expected = events.iter().find_map(|e| match e {
                Event::Result => Some(Scan::Answered(Answer::Result {
                    version: Some(ProtocolVersion::V2025_06_18),
                })),
                Event::Error => Some(Scan::Answered(Answer::Error)),
                _ => None,
            }).unwrap_or(Scan::Pending);
            let bytes = stream.as_bytes();
            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
            points.sort_unstable();
            let mut scan = SseScan::default();
            let mut got = Scan::Pending;
            let mut start = 0;
            for end in points.into_iter().chain([bytes.len()]) {
                got = scan.feed(&bytes[start..end], &id);
                start = end;
                if got != Scan::Pending {
                    break;
                }
            }
            prop_assert_eq!(got, expected, "{:?}", stream);
        }

        /// `judge` never panics, and answers only for the request's own id.
        #[test]
        fn judge_answers_only_its_id(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let id = RequestId::Number("1".into());
            if let Some(answer) = judge(&bytes, &id) {
                let v: serde_json::Value = serde_json::from_slice(&bytes).expect("an answer is JSON");
                prop_assert!(v["id"].as_f64() == Some(1.0), "{:?} for {:?}", answer, v);
            }
        }
    }
}
