//! The checks of message rows before anything is sent: ids, text, SMS length, repeats.

use super::*;

#[test]
fn row_checks() {
    let ok = check_row(
        Channel::Sms,
        (&Cell::Int(1), 0),
        (&Cell::Text("2".into()), 1),
        "hi",
        None,
    );
    assert_eq!(ok.unwrap().client_id, 2);
    let long = "a".repeat(1601);
    type Case<'a> = (Cell, Cell, &'a str, Option<&'a str>, Channel, &'a [&'a str]);
    let cases: &[Case] = &[
        (
            Cell::Empty,
            Cell::Int(2),
            "hi",
            None,
            Channel::Sms,
            &["case_id: is required"],
        ),
        (
            Cell::Int(0),
            Cell::Int(2),
            "hi",
            None,
            Channel::Sms,
            &["case_id: '0' is not an id"],
        ),
        (
            Cell::Int(1),
            Cell::Text("x".into()),
            "hi",
            None,
            Channel::Sms,
            &["client_id: 'x' is not an id"],
        ),
        (
            Cell::Int(1),
            Cell::Int(2),
            " ",
            None,
            Channel::Sms,
            &["message: the message is empty"],
        ),
        (
            Cell::Int(1),
            Cell::Int(2),
            &long,
            None,
            Channel::Sms,
            &["message: the SMS is 1601 characters"],
        ),
        (
            Cell::Int(1),
            Cell::Int(2),
            &long,
            Some("s"),
            Channel::Email,
            &[],
        ),
        (
            Cell::Int(1),
            Cell::Int(2),
            "hi",
            Some(""),
            Channel::Email,
            &["subject: the subject is empty"],
        ),
    ];
    for (case, client, msg, subj, ch, want) in cases {
        let r = check_row(*ch, (case, 0), (client, 1), msg, *subj);
        if want.is_empty() {
            assert!(r.is_ok(), "{msg:.10}");
            continue;
        }
        let errs = crate::outcome::join_errors(&r.unwrap_err());
        for w in *want {
            assert!(errs.contains(w), "{errs} lacks {w}");
        }
    }
}

#[test]
fn duplicates_key_on_case_client_text_subject() {
    let m = |case, client, text: &str, subj: Option<&str>| Ready {
        case_id: case,
        client_id: client,
        message: text.into(),
        subject: subj.map(str::to_string),
    };
    let mut d = Dedupe::default();
    assert_eq!(d.first_row(&m(1, 2, "a", None), 2), None);
    assert_eq!(d.first_row(&m(1, 2, "a", None), 3), Some(2));
    assert_eq!(d.first_row(&m(1, 3, "a", None), 4), None);
    assert_eq!(d.first_row(&m(1, 2, "b", None), 5), None);
    assert_eq!(d.first_row(&m(1, 2, "a", Some("s")), 6), None);
    assert_eq!(d.first_row(&m(1, 2, "a", Some("s")), 7), Some(6));
}
