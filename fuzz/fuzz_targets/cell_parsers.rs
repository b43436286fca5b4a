//! The cell parsers (dates, yes/no, ids, id lists, JSON objects, Excel error literals) and the
//! `Cell` conversions, on fuzzed text and numbers. Besides not panicking, each checks the
//! round trips the code promises: what it accepts, written back the way the tool writes it,
//! reads back the same.

#![no_main]

use arbitrary::Arbitrary;
use chrono::NaiveDate;
use kayse_bulk::cell::Cell;
use kayse_bulk::fuzzing;
use kayse_bulk::map::cell_error;
use kayse_bulk::check::rules::{
    DateOrder, format_date, format_id_list, normalize_header, parse_bool, parse_date, parse_id,
    parse_id_list, short,
};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    text: String,
    int: i64,
    float: f64,
    days: i32,
}

const ORDERS: [DateOrder; 3] = [DateOrder::Mdy, DateOrder::Dmy, DateOrder::Ymd];

fn check_dates(input: &Input) {
    let cell = Cell::Text(input.text.clone());
    for order in ORDERS {
        if let Ok(d) = parse_date(&cell, order) {
            // Written as the API takes it, it reads back the same in every order.
            let iso = format_date(d);
            assert_eq!(Cell::Date(d).to_text(), iso);
            for again in ORDERS {
                assert_eq!(parse_date(&Cell::Text(iso.clone()), again), Ok(d), "{iso}");
            }
        }
    }
    // Numbers are never dates.
    for order in ORDERS {
        assert!(parse_date(&Cell::Int(input.int), order).is_err());
        assert!(parse_date(&Cell::Float(input.float), order).is_err());
        assert!(parse_date(&Cell::from_f64(input.float), order).is_err());
    }
    // Date cells are taken as they are.
    if let Some(d) = NaiveDate::from_num_days_from_ce_opt(input.days) {
        for order in ORDERS {
            assert_eq!(parse_date(&Cell::Date(d), order), Ok(d));
            let midnight = d.and_hms_opt(0, 0, 0).expect("midnight exists");
            assert_eq!(parse_date(&Cell::DateTime(midnight), order), Ok(d));
        }
    }
}

fn check_bool(input: &Input) {
    if let Ok(b) = parse_bool(&Cell::Text(input.text.clone())) {
        assert_eq!(parse_bool(&Cell::Text(b.to_string())), Ok(b));
        assert_eq!(parse_bool(&Cell::Bool(b)), Ok(b));
    }
    let _ = parse_bool(&Cell::Int(input.int));
    let _ = parse_bool(&Cell::Float(input.float));
    let _ = parse_bool(&Cell::from_f64(input.float));
}

fn check_ids(input: &Input) {
    if let Ok(id) = parse_id(&Cell::Text(input.text.clone())) {
        assert!(id > 0);
        assert_eq!(parse_id(&Cell::Text(id.to_string())), Ok(id));
    }
    match parse_id(&Cell::Int(input.int)) {
        Ok(id) => assert_eq!(i64::try_from(id), Ok(input.int)),
        Err(_) => assert!(input.int <= 0),
    }
    let _ = parse_id(&Cell::from_f64(input.float));

    if let Ok(ids) = parse_id_list(&Cell::Text(input.text.clone())) {
        assert!(ids.iter().all(|&id| id > 0));
        let text = format_id_list(&ids);
        assert_eq!(parse_id_list(&Cell::Text(text)), Ok(ids));
    }
    match parse_id_list(&Cell::Int(input.int)) {
        Ok(ids) => assert_eq!(ids, [input.int as u64]),
        Err(_) => assert!(input.int <= 0),
    }
    let _ = parse_id_list(&Cell::Float(input.float));
}

fn check_cells(input: &Input) {
    let f = input.float;
    match Cell::from_f64(f) {
        Cell::Int(i) => {
            assert_eq!(i as f64, f, "integral floats become exact Ints");
            assert_eq!(Cell::Int(i).to_text().parse::<i64>(), Ok(i));
        }
        Cell::Float(g) => {
            assert!(g.to_bits() == f.to_bits());
            assert!(!f.is_finite() || f.fract() != 0.0 || f.abs() >= 9.0e15);
        }
        other => panic!("{f} became {other:?}"),
    }
    let _ = Cell::from_f64(f).to_text();
    assert_eq!(Cell::Int(input.int).to_text(), input.int.to_string());
    assert_eq!(Cell::Text(input.text.clone()).to_text(), input.text);
    assert_eq!(Cell::Error(input.text.clone()).to_text(), input.text);
}

fn check_text_helpers(input: &Input) {
    let cell = Cell::Text(input.text.clone());
    let _ = fuzzing::parse_object(&cell);
    if let Some(e) = cell_error(&cell) {
        assert!(e.starts_with('#'));
    }
    let _ = normalize_header(&input.text);
    assert!(short(&input.text).chars().count() <= 41);
}

fuzz_target!(|input: Input| {
    check_dates(&input);
    check_bool(&input);
    check_ids(&input);
    check_cells(&input);
    check_text_helpers(&input);
});
