//! Value parsers for one cell each: dates, booleans, id lists, ids. Pure functions, table-tested.
//! (SKELETON: to be implemented.)

/// How to read an all-numeric date such as `3/5/2024` (`--date-order`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DateOrder {
    #[default]
    Mdy,
    Dmy,
    Ymd,
}
