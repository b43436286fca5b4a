//! `import --restore`: a backup (the export `delete --backup` writes) created anew. Each row's
//! `id` is the old case's id, which Kayse no longer has, so it is kept as the row's old id
//! instead of making the row an update; the results show it beside the new `kayse_id`. What the
//! API cannot set again (a client's SMS and email opt-outs) is said row by row. Pure: no I/O.

use crate::cell::Cell;
use crate::check::rules::parse_bool;
use crate::entity::{Record, Value};
use crate::read::RawRow;

/// The backup's answer-only columns that matter for a restore.
pub struct Restore {
    sms: Option<usize>,
    email: Option<usize>,
    call: Option<usize>,
}

fn column(headers: &[String], name: &str) -> Option<usize> {
    headers
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case(name))
}

/// What one backup row became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The id the case had before it was deleted.
    pub old_id: Option<u64>,
    /// The row's loud note: the opt-outs that cannot be restored.
    pub lost: Option<String>,
}

impl Restore {
    pub fn new(headers: &[String]) -> Restore {
        Restore {
            sms: column(headers, "sms_opted_out"),
            email: column(headers, "email_opted_out"),
            call: column(headers, "call_opted_out"),
        }
    }

    fn flag(&self, col: Option<usize>, raw: &RawRow) -> bool {
        col.and_then(|c| raw.cells.get(c))
            .filter(|c| !matches!(c, Cell::Empty))
            .is_some_and(|c| parse_bool(c).unwrap_or(false))
    }

    /// Make `case` a create: its id becomes the old id. A voice-call opt-out the backup shows is
    /// sent again (`opt_out_voice_calls`, which the API takes); SMS and email opt-outs cannot be,
    /// and the row says so.
    pub fn apply(&self, case: &mut Record, raw: &RawRow) -> Restored {
        let old_id = case.id.take();
        if self.flag(self.call, raw)
            && let Some(i) = case.entity().field_index("opt_out_voice_calls")
            && case.get(i).is_none()
        {
            case.set(i, Value::Bool(true));
        }
        let lost: Vec<&str> = [(self.sms, "SMS"), (self.email, "email")]
            .into_iter()
            .filter(|(c, _)| self.flag(*c, raw))
            .map(|(_, what)| what)
            .collect();
        let lost = (!lost.is_empty()).then(|| {
            format!(
                "RESTORE: this case's clients had opted out of {}, and the API cannot set that again: opt them out again in Kayse before any message is sent",
                lost.join(" and ")
            )
        });
        Restored { old_id, lost }
    }
}

/// The summary's lines for a restore of `restored` rows, `lost` those whose opt-outs are lost.
pub fn summary(restored: u64, lost: &crate::read::RowList) -> Vec<String> {
    let mut out = vec![format!(
        "--restore: {restored} cases are created anew; each row's id column keeps the old id, and kayse_id gets the new one"
    )];
    if lost.count > 0 {
        out.push(format!(
            "--restore: {} restored cases had clients opted out of SMS or email, which the API cannot set again ({}): opt them out again in Kayse before any message is sent",
            lost.count,
            lost.describe()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::CASES;

    #[test]
    fn a_backup_row_becomes_a_create_and_names_what_is_lost() {
        let headers: Vec<String> = [
            "id",
            "case_number",
            "call_opted_out",
            "sms_opted_out",
            "email_opted_out",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let r = Restore::new(&headers);
        let t = |s: &str| Cell::Text(s.into());
        let voice = CASES.field_index("opt_out_voice_calls").unwrap();
        let cases: &[(&[Cell], Option<&str>, bool)] = &[
            (
                &[t("1261"), t("A"), t("false"), t("false"), t("false")],
                None,
                false,
            ),
            (
                &[
                    t("1262"),
                    t("B"),
                    Cell::Bool(true),
                    Cell::Empty,
                    Cell::Empty,
                ],
                None,
                true,
            ),
            (
                &[t("1263"), t("C"), t(""), t("true"), t("")],
                Some("SMS"),
                false,
            ),
            (
                &[t("1264"), t("D"), t(""), Cell::Bool(true), t("yes")],
                Some("SMS and email"),
                false,
            ),
            (&[t("1265"), t("E")], None, false),
        ];
        for (n, (cells, lost, voice_set)) in cases.iter().enumerate() {
            let raw = RawRow {
                source_row: n + 2,
                cells: cells.to_vec(),
            };
            let mut case = Record::new(&CASES);
            case.id = Some(1261 + n as u64);
            let got = r.apply(&mut case, &raw);
            assert_eq!(case.id, None, "row {n}: a create");
            assert_eq!(got.old_id, Some(1261 + n as u64));
            match lost {
                Some(what) => assert!(
                    got.lost
                        .as_deref()
                        .is_some_and(|l| l.contains(&format!("opted out of {what},"))),
                    "row {n}: {:?}",
                    got.lost
                ),
                None => assert_eq!(got.lost, None, "row {n}"),
            }
            assert_eq!(
                case.get(voice) == Some(&Value::Bool(true)),
                *voice_set,
                "row {n}"
            );
        }
    }
}
