//! The option blocks commands share, each defined once and flattened where it applies: reading
//! the input, mapping and rules, the batch size, the results file, and run control. (The
//! connection and pacing blocks belong to `send`.) Parsing only: no file is opened here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::check::Rules;
use crate::check::phone::Country;
use crate::check::rules::DateOrder;
use crate::entity::{CASES, CLIENTS, Entity};
use crate::error::Fatal;
use crate::map::{ExtraColumns, MapOptions, MappingFile};
use crate::read::{HeaderMatcher, ReadOptions};

/// Reading a spreadsheet: every command that takes one.
#[derive(Debug, Clone, clap::Args)]
pub struct InputArgs {
    /// The spreadsheet to read: .csv, .txt, .tab, .tsv, .xlsx, .xlsm, .xlsb, .xls or .ods.
    pub file: PathBuf,
    /// Workbook sheet to read, by name or 0-based index [default: the first sheet].
    #[arg(long, value_name = "NAME|INDEX")]
    pub sheet: Option<String>,
    /// Row number of the header [default: of the first 30 rows, the one naming the most fields].
    #[arg(long, value_name = "N")]
    pub header_row: Option<usize>,
    /// CSV delimiter: ',', ';', 'tab' or '|' [default: sniffed].
    #[arg(long, value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,
}

impl InputArgs {
    /// The reader's options: these flags, what the command does with hidden rows, and what makes
    /// a row its header (the columns the command reads).
    pub fn read_options(&self, hidden: HiddenRows, header_matcher: HeaderMatcher) -> ReadOptions {
        ReadOptions {
            sheet: self.sheet.clone(),
            header_row: self.header_row,
            delimiter: self.delimiter,
            skip_hidden_rows: hidden.skip,
            header_matcher: Some(header_matcher),
        }
    }

    /// The reading options given, for the journal's header: `--resume` restores them, so a
    /// resume needs no repetition of `--sheet`, `--header-row` or `--delimiter`.
    pub fn record(&self, options: &mut BTreeMap<String, String>) {
        if let Some(s) = &self.sheet {
            options.insert("read.sheet".into(), s.clone());
        }
        if let Some(n) = self.header_row {
            options.insert("read.header_row".into(), n.to_string());
        }
        if let Some(d) = self.delimiter {
            options.insert("read.delimiter".into(), char::from(d).to_string());
        }
    }

    /// Take each reading option the journal recorded and this command line does not give.
    pub fn restore(&mut self, recorded: &BTreeMap<String, String>) -> Result<(), Fatal> {
        let bad = |k: &str| Fatal::usage(format!("the journal's option {k} cannot be read"));
        if self.sheet.is_none() {
            self.sheet = recorded.get("read.sheet").cloned();
        }
        if self.header_row.is_none()
            && let Some(n) = recorded.get("read.header_row")
        {
            self.header_row = Some(n.parse().map_err(|_| bad("read.header_row"))?);
        }
        if self.delimiter.is_none()
            && let Some(d) = recorded.get("read.delimiter")
        {
            self.delimiter = Some(parse_delimiter(d).map_err(|_| bad("read.delimiter"))?);
        }
        Ok(())
    }

    /// A hint for an error about the header's columns: which row the header was taken from,
    /// when the tool chose it (a `--header-row` given is not second-guessed).
    pub fn header_hint(&self, header_row: usize) -> String {
        match self.header_row {
            Some(_) => String::new(),
            None => format!(
                " (the header was read from row {header_row}; --header-row N reads another row)"
            ),
        }
    }
}

/// `--skip-hidden-rows`, for the commands that read hidden rows unless told otherwise (validate,
/// import, sms, email). `delete` leaves them out unless told otherwise (`--include-hidden-rows`).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct SkipHiddenArgs {
    /// Leave out rows hidden in the workbook, e.g. by a filter (XLSX and XLSM) [default: read them].
    #[arg(long)]
    pub skip_hidden_rows: bool,
}

impl SkipHiddenArgs {
    pub fn hidden_rows(&self) -> HiddenRows {
        HiddenRows {
            skip: self.skip_hidden_rows,
            skip_by_default: false,
        }
    }
}

/// What a command does with rows hidden in a workbook (a filter hides rows): whether they are
/// left out, and whether that is the command's default or was asked for. The summary's words
/// depend on both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HiddenRows {
    pub skip: bool,
    /// Leaving them out is the default (`delete`), so the flag that changes it reads them.
    pub skip_by_default: bool,
}

/// Which records a sheet holds: `--entity`, on `validate`, `import` and `template`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum EntityArg {
    /// One case per row.
    #[default]
    Cases,
    /// One client per row.
    Clients,
}

impl EntityArg {
    /// The entity's table.
    pub fn table(self) -> &'static Entity {
        match self {
            EntityArg::Cases => &CASES,
            EntityArg::Clients => &CLIENTS,
        }
    }
}

/// Mapping columns onto case fields and the rules values are judged by: `validate` and `import`.
#[derive(Debug, Clone, clap::Args)]
pub struct RulesArgs {
    /// What each row of the sheet is: a case, or a client.
    #[arg(long, value_enum, default_value = "cases")]
    pub entity: EntityArg,
    /// Country of mobile numbers written without a country code, as a two-letter code (GB, CA).
    #[arg(long, value_name = "CC", default_value = "US", value_parser = parse_country)]
    pub default_country: Country,
    /// Mapping file (TOML) with [columns], [defaults], [values.FIELD] and [allowed].
    #[arg(long, value_name = "FILE.toml")]
    pub mapping: Option<PathBuf>,
    /// The export's system, as `preset = "NAME"` in the mapping file: clio, litify, smartadvocate,
    /// filevine, or none [default: recognised from the headers].
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// Fix a field for every row, e.g. --set external_source=clio (repeatable).
    #[arg(long = "set", value_name = "FIELD=VALUE", value_parser = parse_set)]
    pub set: Vec<(String, String)>,
    /// What to do with columns that match no field.
    #[arg(long, value_enum, default_value = "warn")]
    pub extra_columns: ExtraColumns,
    /// How to read numeric dates such as 3/5/2024. Without it, each date column is read the way
    /// its first rows prove (25/01/2024 proves day-first), else month-first, with a warning.
    #[arg(long, value_enum)]
    pub date_order: Option<DateOrder>,
    /// Accepted status values, comma-separated (any other value is invalid).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub allowed_status: Vec<String>,
    /// Accepted type values, comma-separated (any other value is invalid).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub allowed_type: Vec<String>,
    /// Client columns of a case sheet: take two rows naming the same first and last name as one
    /// client even when one has no date of birth to tell them apart [default: report them].
    #[arg(long)]
    pub merge_by_name: bool,
    /// Leave the client columns of a case sheet (Client Name, Client Email, ...) unread: the
    /// cases are checked and sent without the clients their rows name.
    #[arg(long)]
    pub without_clients: bool,
    /// The cases' clients from a second table, one client per row (a contacts export: .csv,
    /// .xlsx, ...), joined to the cases by the preset's key (Clio: 'Client ID' to the contact's
    /// 'ID') or by a client_ref column in both.
    #[arg(long, value_name = "FILE")]
    pub clients: Option<PathBuf>,
}

impl RulesArgs {
    /// The mapping file and the clients table, for the journal's header (`--resume` restores
    /// them). The clients table's content is in the input's fingerprint (`engine::joined`).
    pub fn record(&self, options: &mut BTreeMap<String, String>) {
        if let Some(m) = &self.mapping {
            options.insert("read.mapping".into(), m.display().to_string());
        }
        if let Some(c) = &self.clients {
            options.insert("read.clients".into(), c.display().to_string());
        }
    }

    /// Take the mapping file and the clients table the journal recorded when this command line
    /// gives none.
    pub fn restore(&mut self, recorded: &BTreeMap<String, String>) {
        if self.mapping.is_none() {
            self.mapping = recorded.get("read.mapping").map(PathBuf::from);
        }
        if self.clients.is_none() && !self.without_clients {
            self.clients = recorded.get("read.clients").map(PathBuf::from);
        }
    }

    /// The mapping options and the rules, with the mapping file loaded. A flag wins over the
    /// file's `[allowed]` list.
    pub fn load(&self) -> Result<(MapOptions, Rules), Fatal> {
        if self.clients.is_some() {
            if self.entity == EntityArg::Clients {
                return Err(Fatal::usage(
                    "--clients joins a clients table to a case sheet; it cannot be used with --entity clients",
                ));
            }
            if self.without_clients {
                return Err(Fatal::usage(
                    "--clients reads the cases' clients and --without-clients leaves them unread: give one of them",
                ));
            }
        }
        let mut file = match &self.mapping {
            Some(p) => MappingFile::load(p)
                .map_err(|e| Fatal::from_error(crate::error::ExitCode::Usage, e))?,
            None => MappingFile::default(),
        };
        if let Some(name) = &self.preset {
            if !name.trim().eq_ignore_ascii_case("none") {
                crate::map::presets::by_name(name)
                    .map_err(|e| Fatal::usage(format!("--preset: {e}")))?;
            }
            file.preset = Some(name.clone());
        }
        let pick = |flag: &Vec<String>, file: &Option<Vec<String>>| {
            if flag.is_empty() {
                file.clone()
            } else {
                Some(flag.clone())
            }
        };
        let date_order = self.date_order_with(&file)?;
        let entity = self.entity.table();
        let mut rules = Rules::new(entity, date_order.unwrap_or_default());
        rules.country = self.default_country;
        if let Some(order) = date_order {
            // The user's word settles every date column: no column is then a guess.
            for slot in 0..entity.slot_count() {
                rules.read_dates(slot, order, true);
            }
        }
        for (field, list) in [
            ("status", pick(&self.allowed_status, &file.allowed.status)),
            ("type", pick(&self.allowed_type, &file.allowed.case_type)),
        ] {
            if let Some(list) = list {
                rules
                    .allow(field, list)
                    .map_err(|e| Fatal::from_error(crate::error::ExitCode::Usage, e))?;
            }
        }
        let map = MapOptions {
            file,
            set: self.set.clone(),
            extra_columns: self.extra_columns,
        };
        Ok((map, rules))
    }
}

impl RulesArgs {
    /// The order every date column is read in, when the user gave one: `--date-order`, else the
    /// mapping file's `date_order`.
    pub fn date_order_with(&self, file: &MappingFile) -> Result<Option<DateOrder>, Fatal> {
        match self.date_order {
            Some(o) => Ok(Some(o)),
            None => file.date_order().map_err(Fatal::usage),
        }
    }
}

/// Cases per bulk request: `import` sends in batches of it, `validate` plans with it.
#[derive(Debug, Clone, clap::Args)]
pub struct BatchArgs {
    /// Cases per bulk request.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch_size: u32,
}

/// Where the results file goes: every command that writes one row per input row.
#[derive(Debug, Clone, clap::Args)]
pub struct ResultsArgs {
    /// Results file, .xlsx or .csv [default: <input stem>.results.xlsx beside the input].
    #[arg(long, value_name = "PATH")]
    pub results: Option<PathBuf>,
}

impl ResultsArgs {
    /// The results path of `command` for `input`, checked to name a format we write. An
    /// earlier results file of the same command given as input is its own default: it is
    /// written again in place (`in_place`).
    pub fn path_for(&self, input: &Path, command: &str) -> Result<PathBuf, Fatal> {
        let path = self.results.clone().unwrap_or_else(|| {
            super::in_place::default_for(input, command)
                .unwrap_or_else(|| unshared_results_path(input))
        });
        check_results_path(&path)?;
        let journal = crate::record::journal::Journal::path_for(&path);
        super::in_place::note(input, &path, &journal);
        Ok(path)
    }
}

/// Run control of a networked command.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Check and plan, write what would be done, and send nothing (no network at all).
    #[arg(long)]
    pub dry_run: bool,
    /// Continue the run recorded in the journal beside the results (or --out) file; nothing
    /// already done is done again.
    #[arg(long)]
    pub resume: bool,
    /// Go ahead without asking (delete, sms and email need it when there is no terminal to ask
    /// on; export asks only before a run that will not fit in the budget left).
    #[arg(long)]
    pub yes: bool,
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "," | "comma" => Ok(b','),
        ";" | "semicolon" => Ok(b';'),
        "\t" | "tab" | "\\t" => Ok(b'\t'),
        "|" | "pipe" => Ok(b'|'),
        _ => Err(format!(
            "unsupported delimiter '{s}': use ',', ';', 'tab' or '|'"
        )),
    }
}

/// A two-letter country code, for `--default-country`.
fn parse_country(s: &str) -> Result<Country, String> {
    s.parse()
}

/// `FIELD=VALUE`, for `--set`.
pub fn parse_set(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("--set expects FIELD=VALUE, got '{s}'"))?;
    let k = k.trim();
    if !crate::entity::ALL.iter().any(|e| e.slot_index(k).is_some()) {
        return Err(format!("--set names an unknown field '{k}'"));
    }
    Ok((k.to_string(), v.trim().to_string()))
}

/// `<input stem>.results.xlsx`, beside the input.
pub fn default_results_path(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "kayse".into());
    input.with_file_name(format!("{stem}.results.xlsx"))
}

/// The default results path of `input`, never shared with another input: `<stem>.results.xlsx`,
/// unless an earlier run of another file with the same stem (`week1.xlsx` beside `week1.csv`)
/// holds it, or this input's runs already use `<file name>.results.xlsx`; then that one. Reads
/// the journal's header only (to know whose it is).
pub fn unshared_results_path(input: &Path) -> PathBuf {
    let usual = default_results_path(input);
    let name = input
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "kayse".into());
    let own = input.with_file_name(format!("{name}.results.xlsx"));
    if crate::record::journal::Journal::path_for(&own).exists() {
        return own;
    }
    let journal = crate::record::journal::Journal::path_for(&usual);
    let other = std::fs::File::open(&journal)
        .ok()
        .and_then(|f| crate::record::journal::JournalState::read(&journal, f).ok())
        .and_then(|st| st.header)
        .is_some_and(|h| {
            let theirs = Path::new(&h.input).file_name().map(|s| s.to_owned());
            !h.input.is_empty() && theirs.as_deref() != input.file_name()
        });
    if other { own } else { usual }
}

/// Check that a results path names a format we write.
pub fn check_results_path(path: &Path) -> Result<(), Fatal> {
    match crate::report::results::ResultsFormat::from_path(path) {
        Some(_) => Ok(()),
        None => Err(Fatal::usage(format!(
            "results file {} must end in .xlsx or .csv",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_parsing() {
        let table: &[(&str, Option<(&str, &str)>)] = &[
            ("external_source = clio", Some(("external_source", "clio"))),
            ("status=", Some(("status", ""))),
            ("nofield=1", None),
            ("status", None),
        ];
        for (text, want) in table {
            let got = parse_set(text).ok();
            let want = want.map(|(k, v)| (k.to_string(), v.to_string()));
            assert_eq!(got, want, "{text}");
        }
    }

    #[test]
    fn reading_options_follow_the_flags_and_the_command() {
        let input = |header_row| InputArgs {
            file: PathBuf::from("in.xlsx"),
            sheet: Some("Open".into()),
            header_row,
            delimiter: Some(b';'),
        };
        let skip = SkipHiddenArgs {
            skip_hidden_rows: true,
        };
        assert_eq!(
            skip.hidden_rows(),
            HiddenRows {
                skip: true,
                skip_by_default: false
            }
        );
        let opts = input(None).read_options(skip.hidden_rows(), HeaderMatcher::new(|_| true));
        assert_eq!(opts.sheet.as_deref(), Some("Open"));
        assert_eq!(opts.delimiter, Some(b';'));
        assert!(opts.skip_hidden_rows);
        assert!(opts.header_matcher.is_some());
        let table = [
            (
                None,
                " (the header was read from row 3; --header-row N reads another row)",
            ),
            (Some(3), ""),
        ];
        for (given, want) in table {
            assert_eq!(input(given).header_hint(3), want, "{given:?}");
        }
    }

    #[test]
    fn allowed_lists_come_from_the_flag_before_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.toml");
        std::fs::write(
            &file,
            "[allowed]\nstatus = [\"open\"]\ntype = [\"civil\"]\n",
        )
        .unwrap();
        let rules = RulesArgs {
            entity: EntityArg::Cases,
            default_country: Country::US,
            mapping: Some(file),
            preset: None,
            set: Vec::new(),
            extra_columns: ExtraColumns::Warn,
            date_order: None,
            allowed_status: vec!["active".into()],
            allowed_type: Vec::new(),
            merge_by_name: false,
            without_clients: false,
            clients: None,
        };
        let (_, r) = rules.load().unwrap();
        let slot = |n| CASES.field_index(n).unwrap();
        assert_eq!(r.allowed(slot("status")), Some(&["active".to_string()][..]));
        assert_eq!(r.allowed(slot("type")), Some(&["civil".to_string()][..]));
        assert_eq!(r.allowed(slot("name")), None);
        let missing = RulesArgs {
            mapping: Some(dir.path().join("absent.toml")),
            ..rules
        };
        let e = missing.load().unwrap_err();
        assert_eq!(e.code, crate::error::ExitCode::Usage);
        assert!(e.render().contains("absent.toml"), "{}", e.render());
    }

    /// `--entity` picks the table the rules judge by, `--default-country` their mobiles'
    /// country; an allowed list names a field of that table or is refused.
    #[test]
    fn entity_and_country_reach_the_rules() {
        type Case = (
            EntityArg,
            &'static str,
            &'static [&'static str],
            Result<&'static str, &'static str>,
        );
        let table: &[Case] = &[
            (EntityArg::Cases, "US", &[], Ok("cases")),
            (EntityArg::Clients, "GB", &[], Ok("clients")),
            (EntityArg::Clients, "uk", &[], Ok("clients")),
            (EntityArg::Cases, "CA", &["open"], Ok("cases")),
            (
                EntityArg::Clients,
                "US",
                &["open"],
                Err("not a field of a client"),
            ),
        ];
        for (entity, country, status, want) in table {
            let country: Country = country.parse().unwrap();
            let args = RulesArgs {
                entity: *entity,
                default_country: country,
                mapping: None,
                preset: None,
                set: Vec::new(),
                extra_columns: ExtraColumns::Warn,
                date_order: None,
                allowed_status: status.iter().map(|s| s.to_string()).collect(),
                allowed_type: Vec::new(),
                merge_by_name: false,
                without_clients: false,
                clients: None,
            };
            match (args.load(), want) {
                (Ok((_, r)), Ok(name)) => {
                    assert_eq!(r.entity().name, *name);
                    assert_eq!(r.country, country);
                }
                (Err(e), Err(text)) => assert!(e.render().contains(text), "{}", e.render()),
                (got, want) => panic!("{entity:?} {status:?}: {:?} want {want:?}", got.err()),
            }
        }
        assert!(parse_country("ZZ").is_err());
        assert_eq!(parse_country("gb").unwrap().code(), "GB");
    }

    /// `--clients` is recorded for `--resume` like the mapping file, and refused where there is
    /// no case sheet to join it to or where the clients are left unread.
    #[test]
    fn clients_round_trip_through_the_journal_and_are_refused_where_they_cannot_apply() {
        let args = |entity, without_clients, clients: Option<&str>| RulesArgs {
            entity,
            default_country: Country::US,
            mapping: None,
            preset: None,
            set: Vec::new(),
            extra_columns: ExtraColumns::Warn,
            date_order: None,
            allowed_status: Vec::new(),
            allowed_type: Vec::new(),
            merge_by_name: false,
            without_clients,
            clients: clients.map(PathBuf::from),
        };
        let mut rec = BTreeMap::new();
        args(EntityArg::Cases, false, Some("contacts.csv")).record(&mut rec);
        assert_eq!(
            rec.get("read.clients").map(String::as_str),
            Some("contacts.csv")
        );
        // (given now, --without-clients now, restored)
        let table = [
            (None, false, Some("contacts.csv")),
            (Some("other.csv"), false, Some("other.csv")),
            (None, true, None),
        ];
        for (given, without, want) in table {
            let mut now = args(EntityArg::Cases, without, given);
            now.restore(&rec);
            assert_eq!(now.clients, want.map(PathBuf::from), "{given:?} {without}");
        }
        // (entity, --without-clients, refused with)
        let table = [
            (EntityArg::Cases, false, None),
            (
                EntityArg::Clients,
                false,
                Some("cannot be used with --entity clients"),
            ),
            (EntityArg::Cases, true, Some("give one of them")),
        ];
        for (entity, without, want) in table {
            let got = args(entity, without, Some("c.csv")).load().err();
            match (got, want) {
                (None, None) => {}
                (Some(e), Some(w)) => {
                    assert_eq!(e.code, crate::error::ExitCode::Usage);
                    assert!(e.render().contains(w), "{}", e.render());
                }
                (got, want) => panic!(
                    "{entity:?} {without}: {:?} want {want:?}",
                    got.map(|e| e.render())
                ),
            }
        }
    }

    #[test]
    fn reading_options_round_trip_through_the_journal() {
        let given = InputArgs {
            file: PathBuf::from("in.csv"),
            sheet: Some("Open".into()),
            header_row: Some(3),
            delimiter: Some(b';'),
        };
        let mut rec = BTreeMap::new();
        given.record(&mut rec);
        let mut bare = InputArgs {
            file: PathBuf::from("in.csv"),
            sheet: None,
            header_row: None,
            delimiter: None,
        };
        bare.restore(&rec).unwrap();
        assert_eq!(
            (bare.sheet.as_deref(), bare.header_row, bare.delimiter),
            (Some("Open"), Some(3), Some(b';'))
        );
        // A flag given now wins over the journal.
        let mut now = InputArgs {
            header_row: Some(5),
            ..given.clone()
        };
        now.restore(&rec).unwrap();
        assert_eq!(now.header_row, Some(5));
        rec.insert("read.header_row".into(), "x".into());
        let mut bare = InputArgs {
            header_row: None,
            ..given
        };
        assert!(bare.restore(&rec).is_err());
    }

    #[test]
    fn delimiter_parsing() {
        let table: &[(&str, Option<u8>)] = &[
            (",", Some(b',')),
            ("semicolon", Some(b';')),
            ("tab", Some(b'\t')),
            ("\\t", Some(b'\t')),
            ("pipe", Some(b'|')),
            (":", None),
        ];
        for (text, want) in table {
            assert_eq!(parse_delimiter(text).ok(), *want, "{text}");
        }
    }

    #[test]
    fn default_results_are_never_shared_between_inputs() {
        use crate::record::journal::{Basis, Fingerprint, Header, Journal};
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (csv, xlsx) = (d.join("week1.csv"), d.join("week1.xlsx"));
        assert_eq!(unshared_results_path(&csv), d.join("week1.results.xlsx"));
        let fp = Fingerprint {
            sha256: "ab".into(),
            size: 1,
            basis: Basis::Rows,
        };
        let usual = Journal::path_for(&d.join("week1.results.xlsx"));
        drop(Journal::create(&usual, Header::new("import", Path::new("week1.xlsx"), &fp)).unwrap());
        // (input, its default results)
        let table = [
            (&xlsx, d.join("week1.results.xlsx")),
            (&csv, d.join("week1.csv.results.xlsx")),
        ];
        for (input, want) in &table {
            assert_eq!(unshared_results_path(input), *want, "{}", input.display());
        }
        // Once week1.csv's own runs use their file, they keep it, whatever happens to the other.
        let own = Journal::path_for(&d.join("week1.csv.results.xlsx"));
        drop(Journal::create(&own, Header::new("import", &csv, &fp)).unwrap());
        std::fs::remove_file(&usual).unwrap();
        assert_eq!(
            unshared_results_path(&csv),
            d.join("week1.csv.results.xlsx")
        );
    }

    #[test]
    fn results_paths() {
        assert_eq!(
            default_results_path(Path::new("dir/cases.csv")),
            PathBuf::from("dir/cases.results.xlsx")
        );
        for (path, ok) in [
            ("a.csv", true),
            ("a.XLSX", true),
            ("a.txt", false),
            ("a", false),
        ] {
            assert_eq!(check_results_path(Path::new(path)).is_ok(), ok, "{path}");
        }
        let given = ResultsArgs {
            results: Some(PathBuf::from("out.csv")),
        };
        assert_eq!(
            given.path_for(Path::new("in.xlsx"), "import").unwrap(),
            PathBuf::from("out.csv")
        );
        let none = ResultsArgs { results: None };
        assert_eq!(
            none.path_for(Path::new("d/in.csv"), "import").unwrap(),
            PathBuf::from("d/in.results.xlsx")
        );
    }
}
