//! Deduplicating the people a sheet names across its rows: which mentions are one client, why,
//! and which look alike but were kept apart, and why. Pure: values in, values out; no I/O.
//!
//! Input: one [`Person`] per person a row names (a row may name up to three: Client, Client 2,
//! Client 3), with the email and mobile already checked (`check::email`, `check::phone`).
//! Output: [`Dedup`]: the distinct people as clusters of mentions, each merge with the key that
//! made it, and the pairs that shared a key but were not merged, with the reason.
//!
//! # The rule
//! Keys are tried strongest first: **external id**, then **email** (without case), then **E.164
//! mobile**, then **first + last name + date of birth**. Within a key, mentions are taken in
//! row order (those whose person has a date of birth first, so that an undated mention meets
//! every dated candidate before it picks one).
//! - The same external id is the same client, always: the firm said so. If their names or
//!   dates of birth disagree, the client carries a [`Conflict`]: the sheet contradicts itself,
//!   so its rows must be refused until it is fixed (Kayse cannot hold two clients under one
//!   external id, and the tool will not pick one).
//! - A shared email, mobile, or name and date of birth merges two people only if they
//!   *agree*: no two different external ids, no two different dates of birth, and names that
//!   agree (same last name ignoring case, spaces and punctuation; first names whose first word
//!   is the same, or one is the initial of the other: `J.` and `John`). Otherwise the pair is
//!   reported in [`Dedup::apart`] and not merged: a couple sharing an email, a father and son
//!   sharing a phone.
//! - The same first and last name with no date of birth on one side is only reported
//!   ([`Why::NameOnly`]) unless `merge_by_name` is set.
//! - A mention that agrees with two or more different people sharing the key is merged with
//!   none of them ([`Why::Ambiguous`]).
//!
//! **Transitivity** follows from merging whole people, not pairs of rows: a merge joins two
//! people only if everything already known about both agrees. If A and B share an email and B
//! and C share a mobile, but A and C have different external ids, then A and B merge first
//! (email is the stronger key), and B–C is refused with [`Why::ExternalIdsDiffer`] and reported;
//! no person ever holds two external ids or two dates of birth, and every pair of names in one
//! person agrees.
//!
//! # Scale
//! Near-linear: each key groups mentions by hash, and within a group a mention is compared with
//! at most [`MAX_PEOPLE_PER_VALUE`] distinct people. A value shared by more people than that (an
//! office email typed for every client) is a placeholder, not an identity: further mentions are
//! not matched through it ([`Why::SharedByMany`]). People are kept in a union-find whose root is
//! the earliest mention, so the result does not depend on hash order.

use std::collections::HashMap;

use chrono::NaiveDate;

/// One person as one row names them, values already checked and normalised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    /// The row as the user numbers it.
    pub row: u32,
    /// Which client of the row: 1 for `Client …`, 2 for `Client 2 …`, 3 for `Client 3 …`.
    pub group: u8,
    pub external_id: Option<String>,
    pub email: Option<String>,
    /// E.164, as `check::phone` writes it.
    pub mobile: Option<String>,
    pub first: String,
    pub last: String,
    pub date_of_birth: Option<NaiveDate>,
}

/// The keys people are matched by, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    ExternalId,
    Email,
    Mobile,
    NameAndBirth,
    /// First and last name alone: only with `merge_by_name`.
    Name,
}

impl Key {
    /// What the key is called in the Clients sheet.
    pub fn describe(self) -> &'static str {
        match self {
            Key::ExternalId => "external id",
            Key::Email => "email",
            Key::Mobile => "mobile",
            Key::NameAndBirth => "name and date of birth",
            Key::Name => "name",
        }
    }
}

/// Why two mentions that share a key are not one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    NamesDiffer,
    ExternalIdsDiffer,
    BirthDatesDiffer,
    /// Same first and last name, no date of birth on one side, and `merge_by_name` is off.
    NameOnly,
    /// The mention agrees with two or more different people who share the key
    /// ([`Apart::also`] names the second).
    Ambiguous,
    /// The value is shared by more than [`MAX_PEOPLE_PER_VALUE`] different people.
    SharedByMany,
    /// The other person's external id already names two people who disagree ([`Conflict`]).
    Conflicted,
}

impl Why {
    pub fn describe(self) -> &'static str {
        match self {
            Why::NamesDiffer => "the names differ",
            Why::ExternalIdsDiffer => "their external ids differ",
            Why::BirthDatesDiffer => "their dates of birth differ",
            Why::NameOnly => {
                "only the name matches (no date of birth on one side; --merge-by-name merges these)"
            }
            Why::Ambiguous => "it matches more than one person",
            Why::SharedByMany => "too many different people share it to tell them apart",
            Why::Conflicted => "the other client's external id is contradicted in the sheet",
        }
    }
}

/// Two mentions merged: `b` joined the person `a` belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merge {
    pub a: usize,
    pub b: usize,
    pub by: Key,
}

/// Two mentions that share a key but were kept apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Apart {
    pub a: usize,
    pub b: usize,
    pub shared: Key,
    pub why: Why,
    /// For [`Why::Ambiguous`]: a mention of a second person `b` also matched.
    pub also: Option<usize>,
}

/// Two mentions with the same external id whose names or dates of birth disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conflict {
    pub a: usize,
    pub b: usize,
    pub why: Why,
}

/// One distinct person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cluster {
    /// Indices into the input, in input order.
    pub members: Vec<usize>,
    pub merges: Vec<Merge>,
    /// Non-empty: the sheet contradicts itself about this client; do not send it.
    pub conflicts: Vec<Conflict>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dedup {
    /// In order of each person's first mention.
    pub clusters: Vec<Cluster>,
    /// For each input mention, the index of its cluster.
    pub cluster_of: Vec<usize>,
    /// Pairs of people who share a key but were kept apart, once per pair of people, in the
    /// order they were found: by key, strongest first, then row.
    pub apart: Vec<Apart>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Merge the same first and last name when one side has no date of birth.
    pub merge_by_name: bool,
}

/// The most distinct people one email, mobile or name is compared against. Sixteen is more
/// than any household; past it the value is a placeholder.
pub const MAX_PEOPLE_PER_VALUE: usize = 16;

/// The most distinct spellings of a name one person keeps for comparison.
const MAX_NAMES: usize = 8;

/// Find the distinct people among `people`. See the module comment for the rule.
pub fn dedupe(people: &[Person], options: Options) -> Dedup {
    let names: Vec<Name> = people
        .iter()
        .map(|p| Name::new(&p.first, &p.last))
        .collect();
    let mut s = State::new(people, &names);

    // External ids: always one client; disagreement is a conflict.
    let ext = groups(people, |p| {
        p.external_id
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
    });
    for group in &ext {
        let head = group[0];
        for &m in &group[1..] {
            let (ra, rb) = (s.find(head), s.find(m));
            if ra == rb {
                continue;
            }
            let disagree = s.agree(ra, rb, false).err();
            s.union(ra, rb);
            if let Some(why) = disagree {
                s.conflicts.push(Conflict { a: head, b: m, why });
                let root = s.find(head);
                s.known[root].conflicted = true;
            }
            s.merges.push(Merge {
                a: head,
                b: m,
                by: Key::ExternalId,
            });
        }
    }

    let email = groups(people, |p| p.email.as_deref().map(str::to_lowercase));
    s.phase(&email, Key::Email, options);
    let mobile = groups(people, |p| p.mobile.clone());
    s.phase(&mobile, Key::Mobile, options);
    let by_name = name_groups(&names);
    s.phase(&by_name, Key::NameAndBirth, options);

    s.finish()
}

/// Mentions sharing a key value, in order of first appearance; only groups of two or more.
fn groups(people: &[Person], key: impl Fn(&Person) -> Option<String>) -> Vec<Vec<usize>> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (i, p) in people.iter().enumerate() {
        let Some(k) = key(p) else { continue };
        match index.get(&k) {
            Some(&g) => out[g].push(i),
            None => {
                index.insert(k, out.len());
                out.push(vec![i]);
            }
        }
    }
    out.retain(|g| g.len() > 1);
    out
}

/// Mentions with the same first and last name (as compared), for the name phase.
fn name_groups(names: &[Name]) -> Vec<Vec<usize>> {
    let mut index: HashMap<(&str, &str), usize> = HashMap::new();
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (i, n) in names.iter().enumerate() {
        if n.last.is_empty() || n.first.is_empty() {
            continue;
        }
        match index.get(&(n.first.as_str(), n.last.as_str())) {
            Some(&g) => out[g].push(i),
            None => {
                index.insert((&n.first, &n.last), out.len());
                out.push(vec![i]);
            }
        }
    }
    out.retain(|g| g.len() > 1);
    out
}

/// A name as compared: the first name's words lowercased without punctuation (`John Q.` →
/// `john q`), the last name lowercased with only its letters and digits (`de la Cruz` →
/// `delacruz`, `O'Brien` → `obrien`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub first: String,
    pub last: String,
}

impl Name {
    pub fn new(first: &str, last: &str) -> Name {
        let words: Vec<String> = first
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        Name {
            first: words.join(" "),
            last: last
                .chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect(),
        }
    }

    /// Same last name; first names whose first words are equal, or one is the other's initial.
    pub fn agrees(&self, other: &Name) -> bool {
        if self.last != other.last {
            return false;
        }
        let a = self.first.split(' ').next().unwrap_or("");
        let b = other.first.split(' ').next().unwrap_or("");
        a == b || is_initial_of(a, b) || is_initial_of(b, a)
    }
}

fn is_initial_of(initial: &str, name: &str) -> bool {
    let mut chars = initial.chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if name.starts_with(c) && name.len() > c.len_utf8())
}

/// What is known about one person (kept at the union-find root).
#[derive(Debug, Clone, Default)]
struct Known {
    /// A mention carrying the external id.
    ext: Option<usize>,
    birth: Option<NaiveDate>,
    /// Mentions with distinct names (as compared), at most [`MAX_NAMES`]; none for a person
    /// known only by external id so far.
    names: Vec<usize>,
    conflicted: bool,
}

struct State<'a> {
    people: &'a [Person],
    names: &'a [Name],
    parent: Vec<usize>,
    known: Vec<Known>,
    merges: Vec<Merge>,
    conflicts: Vec<Conflict>,
    apart: Vec<Apart>,
}

impl<'a> State<'a> {
    fn new(people: &'a [Person], names: &'a [Name]) -> State<'a> {
        let known = people
            .iter()
            .enumerate()
            .map(|(i, p)| Known {
                ext: p
                    .external_id
                    .as_deref()
                    .is_some_and(|e| !e.trim().is_empty())
                    .then_some(i),
                birth: p.date_of_birth,
                // A mention by external id alone carries no name to compare.
                names: if names[i].first.is_empty() && names[i].last.is_empty() {
                    Vec::new()
                } else {
                    vec![i]
                },
                conflicted: false,
            })
            .collect();
        State {
            people,
            names,
            parent: (0..people.len()).collect(),
            known,
            merges: Vec::new(),
            conflicts: Vec::new(),
            apart: Vec::new(),
        }
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    /// Join two roots; the earlier mention stays the root, so results follow row order.
    fn union(&mut self, a: usize, b: usize) {
        let (root, child) = if a < b { (a, b) } else { (b, a) };
        self.parent[child] = root;
        let moved = std::mem::take(&mut self.known[child]);
        let names = self.names;
        let k = &mut self.known[root];
        k.ext = k.ext.or(moved.ext);
        k.birth = k.birth.or(moved.birth);
        k.conflicted |= moved.conflicted;
        for n in moved.names {
            if k.names.len() < MAX_NAMES && !k.names.iter().any(|&m| names[m] == names[n]) {
                k.names.push(n);
            }
        }
    }

    fn ext_of(&self, root: usize) -> Option<&str> {
        self.known[root]
            .ext
            .and_then(|i| self.people[i].external_id.as_deref())
            .map(str::trim)
    }

    /// Whether two people may be one. `check_ext` is off inside the external id phase.
    fn agree(&self, a: usize, b: usize, check_ext: bool) -> Result<(), Why> {
        let (ka, kb) = (&self.known[a], &self.known[b]);
        if check_ext && (ka.conflicted || kb.conflicted) {
            return Err(Why::Conflicted);
        }
        if check_ext
            && let (Some(x), Some(y)) = (self.ext_of(a), self.ext_of(b))
            && x != y
        {
            return Err(Why::ExternalIdsDiffer);
        }
        let names_agree = ka.names.iter().all(|&x| {
            kb.names
                .iter()
                .all(|&y| self.names[x].agrees(&self.names[y]))
        });
        if !names_agree {
            return Err(Why::NamesDiffer);
        }
        if let (Some(x), Some(y)) = (ka.birth, kb.birth)
            && x != y
        {
            return Err(Why::BirthDatesDiffer);
        }
        Ok(())
    }

    /// One key's pass over its groups of mentions sharing a value.
    fn phase(&mut self, groups: &[Vec<usize>], key: Key, options: Options) {
        for group in groups {
            // Dated people first, each part in row order: an undated mention must meet every
            // dated candidate before it picks one.
            let mut order: Vec<(bool, usize)> = group
                .iter()
                .map(|&m| {
                    let r = self.find(m);
                    (self.known[r].birth.is_none(), m)
                })
                .collect();
            order.sort_unstable();
            let mut settled: Vec<usize> = Vec::new();
            for (_, m) in order {
                self.place(m, key, options, &mut settled);
            }
        }
    }

    /// Merge mention `m` with the one settled person it agrees with, or keep it apart and say
    /// why. `settled` holds one mention of each distinct person seen so far in the group.
    fn place(&mut self, m: usize, key: Key, options: Options, settled: &mut Vec<usize>) {
        let r = self.find(m);
        let mut strong = Vec::new();
        let mut weak = Vec::new();
        let mut refusal: Option<(usize, Why)> = None;
        for &s in settled.iter() {
            let rs = self.find(s);
            if rs == r {
                return;
            }
            match self.agree(rs, r, true) {
                Ok(()) if key != Key::NameAndBirth => strong.push(s),
                Ok(()) => {
                    if self.known[rs].birth.is_some() && self.known[r].birth.is_some() {
                        strong.push(s);
                    } else {
                        weak.push(s);
                    }
                }
                Err(why) => {
                    refusal.get_or_insert((s, why));
                }
            }
        }
        let (candidates, by) = if strong.is_empty() && options.merge_by_name {
            (&weak, Key::Name)
        } else {
            (&strong, key)
        };
        match candidates.as_slice() {
            [s] => {
                let rs = self.find(*s);
                self.union(rs, r);
                self.merges.push(Merge { a: *s, b: m, by });
                return;
            }
            [s, t, ..] => self.apart.push(Apart {
                a: *s,
                b: m,
                shared: by,
                why: Why::Ambiguous,
                also: Some(*t),
            }),
            [] => {
                let full = settled.len() >= MAX_PEOPLE_PER_VALUE;
                if let Some(&s) = weak.first() {
                    self.apart.push(Apart {
                        a: s,
                        b: m,
                        shared: Key::Name,
                        why: Why::NameOnly,
                        also: None,
                    });
                } else if let Some((s, why)) = refusal {
                    // Same name, different dates of birth: two people, nothing to report.
                    if !(key == Key::NameAndBirth && why == Why::BirthDatesDiffer) {
                        let rs = self.find(s);
                        let dated = self.known[rs].birth.is_some() && self.known[r].birth.is_some();
                        self.apart.push(Apart {
                            a: s,
                            b: m,
                            shared: if key == Key::NameAndBirth && !dated {
                                Key::Name
                            } else {
                                key
                            },
                            why: if full { Why::SharedByMany } else { why },
                            also: None,
                        });
                    }
                }
            }
        }
        if settled.len() < MAX_PEOPLE_PER_VALUE {
            settled.push(m);
        }
    }

    fn finish(mut self) -> Dedup {
        let n = self.people.len();
        let mut cluster_of = vec![usize::MAX; n];
        let mut clusters: Vec<Cluster> = Vec::new();
        for i in 0..n {
            let r = self.find(i);
            if cluster_of[r] == usize::MAX {
                cluster_of[r] = clusters.len();
                clusters.push(Cluster::default());
            }
            cluster_of[i] = cluster_of[r];
            clusters[cluster_of[i]].members.push(i);
        }
        for m in self.merges {
            clusters[cluster_of[m.a]].merges.push(m);
        }
        for c in self.conflicts {
            clusters[cluster_of[c.a]].conflicts.push(c);
        }
        // A pair kept apart under one key may have been joined under a later one (a mention
        // ambiguous by email, merged by name with `merge_by_name`): then it was merged after
        // all, and is not reported. Two people are reported once, under the strongest key
        // they share.
        let mut apart = self.apart;
        let mut reported = std::collections::HashSet::new();
        apart.retain(|a| {
            let (x, y) = (cluster_of[a.a], cluster_of[a.b]);
            x != y && reported.insert((x.min(y), x.max(y)))
        });
        Dedup {
            clusters,
            cluster_of,
            apart,
        }
    }
}

/// `row 4`, or `row 4 (Client 2)` for a second or third client.
pub fn mention(p: &Person) -> String {
    if p.group > 1 {
        format!("row {} (Client {})", p.row, p.group)
    } else {
        format!("row {}", p.row)
    }
}

impl Merge {
    /// For the Clients sheet: `row 9: same email as row 4`.
    pub fn describe(&self, people: &[Person]) -> String {
        format!(
            "{}: same {} as {}",
            mention(&people[self.b]),
            self.by.describe(),
            mention(&people[self.a])
        )
    }
}

impl Apart {
    /// For the Clients sheet: `row 9 shares the email of row 4, but the names differ: not
    /// merged`.
    pub fn describe(&self, people: &[Person]) -> String {
        let also = self
            .also
            .map(|x| format!(" and {}", mention(&people[x])))
            .unwrap_or_default();
        format!(
            "{} shares the {} of {}{also}, but {}: not merged",
            mention(&people[self.b]),
            self.shared.describe(),
            mention(&people[self.a]),
            self.why.describe()
        )
    }
}

impl Conflict {
    pub fn describe(&self, people: &[Person]) -> String {
        format!(
            "{} has the external id of {}, but {}: fix the sheet",
            mention(&people[self.b]),
            mention(&people[self.a]),
            self.why.describe()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A mention, built up field by field.
    fn p(row: u32, first: &str, last: &str) -> Person {
        Person {
            row,
            group: 1,
            first: first.into(),
            last: last.into(),
            ..Person::default()
        }
    }

    trait With {
        fn ext(self, e: &str) -> Self;
        fn email(self, e: &str) -> Self;
        fn mobile(self, m: &str) -> Self;
        fn born(self, y: i32) -> Self;
        fn group(self, g: u8) -> Self;
    }

    impl With for Person {
        fn ext(mut self, e: &str) -> Self {
            self.external_id = Some(e.into());
            self
        }
        fn email(mut self, e: &str) -> Self {
            self.email = Some(e.into());
            self
        }
        fn mobile(mut self, m: &str) -> Self {
            self.mobile = Some(m.into());
            self
        }
        fn born(mut self, y: i32) -> Self {
            self.date_of_birth = NaiveDate::from_ymd_opt(y, 1, 1);
            self
        }
        fn group(mut self, g: u8) -> Self {
            self.group = g;
            self
        }
    }

    /// What a case expects: clusters as lists of input indices, merges as (a, b, key), pairs
    /// kept apart as (a, b, key, why), conflicts as (a, b, why).
    struct Want {
        clusters: &'static [&'static [usize]],
        merges: &'static [(usize, usize, Key)],
        apart: &'static [(usize, usize, Key, Why)],
        conflicts: &'static [(usize, usize, Why)],
    }

    fn check(name: &str, people: &[Person], options: Options, want: Want) {
        let got = dedupe(people, options);
        let clusters: Vec<Vec<usize>> = got.clusters.iter().map(|c| c.members.clone()).collect();
        let want_clusters: Vec<Vec<usize>> = want.clusters.iter().map(|c| c.to_vec()).collect();
        assert_eq!(clusters, want_clusters, "{name}: clusters");
        let merges: Vec<(usize, usize, Key)> = got
            .clusters
            .iter()
            .flat_map(|c| c.merges.iter().map(|m| (m.a, m.b, m.by)))
            .collect();
        assert_eq!(merges, want.merges, "{name}: merges");
        let apart: Vec<(usize, usize, Key, Why)> = got
            .apart
            .iter()
            .map(|a| (a.a, a.b, a.shared, a.why))
            .collect();
        assert_eq!(apart, want.apart, "{name}: apart");
        let conflicts: Vec<(usize, usize, Why)> = got
            .clusters
            .iter()
            .flat_map(|c| c.conflicts.iter().map(|x| (x.a, x.b, x.why)))
            .collect();
        assert_eq!(conflicts, want.conflicts, "{name}: conflicts");
        for (i, c) in got.cluster_of.iter().enumerate() {
            assert!(got.clusters[*c].members.contains(&i), "{name}: cluster_of");
        }
    }

    const NONE: Options = Options {
        merge_by_name: false,
    };
    const BY_NAME: Options = Options {
        merge_by_name: true,
    };

    #[test]
    fn merges_and_refusals() {
        use Key::*;
        use Why::*;
        #[allow(clippy::type_complexity)]
        let cases: Vec<(&str, Vec<Person>, Options, Want)> = vec![
            (
                "a mention by external id alone joins the named one, no conflict",
                vec![
                    p(2, "", "").ext("C-1"),
                    p(3, "Li", "Wei").ext("C-1"),
                    p(4, "", "").ext("C-1"),
                ],
                NONE,
                Want {
                    clusters: &[&[0, 1, 2]],
                    merges: &[(0, 1, ExternalId), (0, 2, ExternalId)],
                    apart: &[],
                    conflicts: &[],
                },
            ),
            (
                "external id merges, whatever else differs",
                vec![
                    p(2, "John", "Smith").ext("C-1").email("a@x.com"),
                    p(3, "John", "Smith").ext("C-1").email("b@x.com"),
                    p(4, "J.", "Smith").ext(" C-1 "),
                ],
                NONE,
                Want {
                    clusters: &[&[0, 1, 2]],
                    merges: &[(0, 1, ExternalId), (0, 2, ExternalId)],
                    apart: &[],
                    conflicts: &[],
                },
            ),
            (
                "external id with names that disagree: one client, in conflict",
                vec![
                    p(2, "John", "Smith").ext("C-1"),
                    p(3, "Mary", "Jones").ext("C-1"),
                    p(4, "John", "Smith").ext("C-1").born(1980),
                    p(5, "John", "Smith").ext("C-1").born(1981),
                ],
                NONE,
                Want {
                    clusters: &[&[0, 1, 2, 3]],
                    merges: &[(0, 1, ExternalId), (0, 2, ExternalId), (0, 3, ExternalId)],
                    apart: &[],
                    conflicts: &[
                        (0, 1, NamesDiffer),
                        (0, 2, NamesDiffer),
                        (0, 3, NamesDiffer),
                    ],
                },
            ),
            (
                "external ids are compared as typed, except for spaces around",
                vec![
                    p(2, "John", "Smith").ext("c-1"),
                    p(3, "John", "Smith").ext("C-1"),
                ],
                NONE,
                Want {
                    clusters: &[&[0], &[1]],
                    merges: &[],
                    apart: &[(0, 1, Name, ExternalIdsDiffer)],
                    conflicts: &[],
                },
            ),
            (
                "email without case; names agree by initial and punctuation",
                vec![
                    p(2, "John", "O'Brien").email("John@Example.com"),
                    p(3, "J.", "OBrien").email("john@example.com"),
                    p(4, "JOHN Q", "o brien").email("JOHN@EXAMPLE.COM"),
                ],
                NONE,
                Want {
                    clusters: &[&[0, 1, 2]],
                    merges: &[(0, 1, Email), (0, 2, Email)],
                    apart: &[],
                    conflicts: &[],
                },
            ),
            (
                "a couple sharing an email is two people",
                vec![
                    p(2, "John", "Smith").email("smiths@example.com"),
                    p(3, "Mary", "Smith").email("smiths@example.com"),
                    p(4, "Mary", "Smith").email("SMITHS@example.com"),
                ],
                NONE,
                Want {
                    clusters: &[&[0], &[1, 2]],
                    merges: &[(1, 2, Email)],
                    apart: &[(0, 1, Email, NamesDiffer)],
                    conflicts: &[],
                },
            ),
            (
                "father and son sharing a phone are two people",
                vec![
                    p(2, "John", "Smith").mobile("+14045550123").born(1950),
                    p(3, "John", "Smith").mobile("+14045550123").born(1980),
                ],
                NONE,
                Want {
                    clusters: &[&[0], &[1]],
                    merges: &[],
                    apart: &[(0, 1, Mobile, BirthDatesDiffer)],
                    conflicts: &[],
                },
            ),
            (
                "mobile merges when all else agrees",
                vec![
                    p(2, "Ana", "Lima").mobile("+14045550123"),
                    p(3, "Ana", "Lima").mobile("+14045550123").born(1990),
                ],
                NONE,
                Want {
                    clusters: &[&[0, 1]],
                    merges: &[(1, 0, Mobile)],
                    apart: &[],
                    conflicts: &[],
                },
            ),
            (
                "two external ids never merge, whatever they share",
                vec![
                    p(2, "Ana", "Lima").ext("A").email("ana@example.com"),
                    p(3, "Ana", "Lima").ext("B").email("ana@example.com"),
                ],
                NONE,
                Want {
                    clusters: &[&[0], &[1]],
                    merges: &[],
                    apart: &[(0, 1, Email, ExternalIdsDiffer)],
                    conflicts: &[],
                },
            ),
            (
                "name and date of birth merge",
                vec![
                    p(2, "Ana", "de la Cruz").born(1990),
                    p(3, "ANA", "De La Cruz").born(1990),
                ],
                NONE,
                Want {
                    clusters: &[&[0, 1]],
                    merges: &[(0, 1, NameAndBirth)],
                    apart: &[],
                    conflicts: &[],
                },
            ),
            (
                "same name, different dates of birth: two people, nothing to report",
                vec![
                    p(2, "Ana", "Lima").born(1990),
                    p(3, "Ana", "Lima").born(1991),
                ],
                NONE,
                Want {
                    clusters: &[&[0], &[1]],
                    merges: &[],
                    apart: &[],
                    conflicts: &[],
                },
            ),
            (
                "a name alone is reported, not merged",
                vec![p(2, "Ana", "Lima").born(1990), p(3, "Ana", "Lima")],
                NONE,
                Want {
                    clusters: &[&[0], &[1]],
                    merges: &[],
                    apart: &[(0, 1, Name, NameOnly)],
                    conflicts: &[],
                },
            ),
            (
                "a name alone merges with merge_by_name",
                vec![p(2, "Ana", "Lima"), p(3, "Ana", "Lima").born(1990)],
                BY_NAME,
                Want {
                    clusters: &[&[0, 1]],
                    merges: &[(1, 0, Name)],
                    apart: &[],
                    conflicts: &[],
                },
            ),
            (
                "merge_by_name never picks between two dated people",
                vec![
                    p(2, "Ana", "Lima"),
                    p(3, "Ana", "Lima").born(1990),
                    p(4, "Ana", "Lima").born(1991),
                ],
                BY_NAME,
                Want {
                    clusters: &[&[0], &[1], &[2]],
                    merges: &[],
                    apart: &[(1, 0, Name, Ambiguous)],
                    conflicts: &[],
                },
            ),
            (
                "transitivity: A~B by email, B~C by mobile, A and C differ by external id",
                vec![
                    p(2, "Ana", "Lima").ext("A").email("ana@example.com"),
                    p(3, "Ana", "Lima")
                        .email("ana@example.com")
                        .mobile("+14045550123"),
                    p(4, "Ana", "Lima").ext("C").mobile("+14045550123"),
                ],
                NONE,
                Want {
                    clusters: &[&[0, 1], &[2]],
                    merges: &[(0, 1, Email)],
                    apart: &[(1, 2, Mobile, ExternalIdsDiffer)],
                    conflicts: &[],
                },
            ),
            (
                "transitivity: A~B by email, B~C by mobile, all agree: one person",
                vec![
                    p(2, "Ana", "Lima").ext("A").email("ana@example.com"),
                    p(3, "Ana", "Lima")
                        .email("ana@example.com")
                        .mobile("+14045550123"),
                    p(4, "A.", "Lima").mobile("+14045550123").born(1990),
                ],
                NONE,
                Want {
                    clusters: &[&[0, 1, 2]],
                    merges: &[(0, 1, Email), (2, 1, Mobile)],
                    apart: &[],
                    conflicts: &[],
                },
            ),
            (
                "transitivity through names: J. agrees with John and with Jane, who do not agree",
                vec![
                    p(2, "John", "Smith").email("s@example.com"),
                    p(3, "Jane", "Smith").email("s@example.com"),
                    p(4, "J.", "Smith").email("s@example.com"),
                ],
                NONE,
                Want {
                    clusters: &[&[0], &[1], &[2]],
                    merges: &[],
                    apart: &[(0, 1, Email, NamesDiffer), (0, 2, Email, Ambiguous)],
                    conflicts: &[],
                },
            ),
            (
                "an undated mention meets every dated one first, whatever the row order",
                vec![
                    p(2, "John", "Smith").email("s@example.com"),
                    p(3, "John", "Smith").email("s@example.com").born(1950),
                    p(4, "John", "Smith").email("s@example.com").born(1980),
                ],
                NONE,
                Want {
                    clusters: &[&[0], &[1], &[2]],
                    merges: &[],
                    apart: &[(1, 2, Email, BirthDatesDiffer), (1, 0, Email, Ambiguous)],
                    conflicts: &[],
                },
            ),
            (
                "a family email: the undated John joins the only John",
                vec![
                    p(2, "John", "Smith").email("s@example.com").born(1950),
                    p(3, "Mary", "Smith").email("s@example.com").born(1952),
                    p(4, "John", "Smith").email("s@example.com"),
                ],
                NONE,
                Want {
                    clusters: &[&[0, 2], &[1]],
                    merges: &[(0, 2, Email)],
                    apart: &[(0, 1, Email, NamesDiffer)],
                    conflicts: &[],
                },
            ),
            (
                "a client whose external id is contradicted absorbs nothing more",
                vec![
                    p(2, "John", "Smith").ext("C-1").email("j@example.com"),
                    p(3, "Mary", "Jones").ext("C-1"),
                    p(4, "John", "Smith").email("j@example.com"),
                ],
                NONE,
                Want {
                    clusters: &[&[0, 1], &[2]],
                    merges: &[(0, 1, ExternalId)],
                    apart: &[(0, 2, Email, Conflicted)],
                    conflicts: &[(0, 1, NamesDiffer)],
                },
            ),
            (
                "the same person twice on one row",
                vec![
                    p(2, "Ana", "Lima").email("ana@example.com"),
                    p(2, "Ana", "Lima").email("ana@example.com").group(2),
                ],
                NONE,
                Want {
                    clusters: &[&[0, 1]],
                    merges: &[(0, 1, Email)],
                    apart: &[],
                    conflicts: &[],
                },
            ),
            (
                "nothing shared, nothing said",
                vec![p(2, "Ana", "Lima"), p(3, "Bo", "Lima"), p(4, "", "")],
                NONE,
                Want {
                    clusters: &[&[0], &[1], &[2]],
                    merges: &[],
                    apart: &[],
                    conflicts: &[],
                },
            ),
        ];
        for (name, people, options, want) in cases {
            check(name, &people, options, want);
        }
    }

    #[test]
    fn a_value_shared_by_many_people_stops_matching() {
        let people: Vec<Person> = (0..20)
            .map(|i| p(i + 2, &format!("F{i}"), "Smith").email("office@firm.com"))
            .collect();
        let got = dedupe(&people, NONE);
        assert_eq!(got.clusters.len(), 20);
        let whys: Vec<Why> = got.apart.iter().map(|a| a.why).collect();
        let mut want = vec![Why::NamesDiffer; MAX_PEOPLE_PER_VALUE - 1];
        want.extend([Why::SharedByMany; 20 - MAX_PEOPLE_PER_VALUE]);
        assert_eq!(whys, want);
        assert!(got.apart.iter().all(|a| a.a == 0));
    }

    #[test]
    fn names_agree() {
        type Pair = (&'static str, &'static str);
        let cases: &[(Pair, Pair, bool)] = &[
            (("John", "Smith"), ("john", "SMITH"), true),
            (("John Q.", "Smith"), ("John", "Smith"), true),
            (("J.", "Smith"), ("John", "Smith"), true),
            (("J", "Smith"), ("j", "Smith"), true),
            (("John", "Smith-Jones"), ("John", "Smith Jones"), true),
            (("Ana", "de la Cruz"), ("Ana", "Delacruz"), true),
            (("Ana", "O'Brien"), ("Ana", "O\u{2019}Brien"), true),
            (("Jon", "Smith"), ("John", "Smith"), false),
            (("John", "Smith"), ("John", "Smyth"), false),
            (("John", "Smith"), ("Jane", "Smith"), false),
            (("Jo", "Smith"), ("John", "Smith"), false),
            (("", "Smith"), ("John", "Smith"), false),
            (("Zoë", "Ångström"), ("ZOË", "ÅNGSTRÖM"), true),
        ];
        for ((f1, l1), (f2, l2), want) in cases {
            let (a, b) = (Name::new(f1, l1), Name::new(f2, l2));
            assert_eq!(a.agrees(&b), *want, "{f1} {l1} / {f2} {l2}");
            assert_eq!(b.agrees(&a), *want, "symmetric: {f1} {l1} / {f2} {l2}");
        }
    }

    #[test]
    fn descriptions() {
        let people = vec![
            p(4, "John", "Smith").email("s@example.com"),
            p(9, "Mary", "Smith").email("s@example.com").group(2),
            p(12, "Mary", "Smith").email("s@example.com"),
        ];
        let got = dedupe(&people, NONE);
        assert_eq!(
            got.apart[0].describe(&people),
            "row 9 (Client 2) shares the email of row 4, but the names differ: not merged"
        );
        assert_eq!(
            got.clusters[1].merges[0].describe(&people),
            "row 12: same email as row 9 (Client 2)"
        );
        let people = vec![
            p(2, "John", "Smith").ext("C-1"),
            p(3, "Mary", "Jones").ext("C-1"),
        ];
        let got = dedupe(&people, NONE);
        assert_eq!(
            got.clusters[0].conflicts[0].describe(&people),
            "row 3 has the external id of row 2, but the names differ: fix the sheet"
        );
    }

    /// A sheet with `distinct` people, each named `per` times, written differently each time
    /// (email case, which identifiers a row carries), so that only the rule can join them.
    fn sheet(distinct: usize, per: usize) -> Vec<Person> {
        let mut out = Vec::with_capacity(distinct * per);
        for k in 0..per {
            for j in 0..distinct {
                let mut m = p(
                    (out.len() + 2) as u32,
                    &format!("First{j}"),
                    &format!("Last{j}"),
                );
                // Every person has one identifier all its mentions carry, by kind in turn.
                match j % 4 {
                    0 => m = m.ext(&format!("X-{j}")),
                    1 => {
                        let email = format!("Person{j}@Example.com");
                        m = m.email(&if k % 2 == 0 {
                            email.to_lowercase()
                        } else {
                            email
                        });
                    }
                    2 => m = m.mobile(&format!("+1404{j:07}")),
                    _ => m = m.born(1940 + (j % 60) as i32),
                }
                // And, on some mentions, more that agrees.
                if k == 1 && j % 3 == 0 {
                    m = m.born(1940 + (j % 60) as i32);
                }
                if k == 2 && j % 5 == 0 {
                    m = m.mobile(&format!("+1404{j:07}"));
                }
                out.push(m);
            }
        }
        out
    }

    #[test]
    fn a_hundred_thousand_mentions() {
        let people = sheet(40_000, 3);
        let people = &people[..100_000];
        let got = dedupe(people, NONE);
        assert_eq!(got.clusters.len(), 40_000);
        assert!(got.apart.is_empty(), "{:?}", &got.apart[..3]);
        assert_eq!(
            got.clusters.iter().map(|c| c.members.len()).sum::<usize>(),
            100_000
        );
        assert!(got.clusters.iter().all(|c| c.conflicts.is_empty()));
    }

    #[test]
    fn a_hundred_thousand_strangers_sharing_one_email() {
        let people: Vec<Person> = (0..100_000)
            .map(|i| p(i + 2, &format!("F{i}"), &format!("L{i}")).email("office@firm.com"))
            .collect();
        let got = dedupe(&people, NONE);
        assert_eq!(got.clusters.len(), 100_000);
        assert_eq!(got.apart.len(), 99_999);
    }

    fn arb_person() -> impl Strategy<Value = Person> {
        (
            prop::option::of(prop::sample::select(vec!["A", "B"])),
            prop::option::of(prop::sample::select(vec!["x@e.com", "X@E.COM", "y@e.com"])),
            prop::option::of(prop::sample::select(vec!["+1404", "+1405"])),
            prop::sample::select(vec!["John", "J.", "Jane", "Mary"]),
            prop::sample::select(vec!["Smith", "Jones"]),
            prop::option::of(1980i32..1982),
        )
            .prop_map(|(ext, email, mobile, first, last, year)| Person {
                row: 0,
                group: 1,
                external_id: ext.map(str::to_owned),
                email: email.map(str::to_owned),
                mobile: mobile.map(str::to_owned),
                first: first.into(),
                last: last.into(),
                date_of_birth: year.and_then(|y| NaiveDate::from_ymd_opt(y, 1, 1)),
            })
    }

    proptest! {
        /// Whatever the input: no person holds two external ids or two dates of birth, every
        /// two names in one person agree (unless the sheet's external ids say otherwise, which
        /// is then a conflict), merges join mentions of one person, and the same input gives the
        /// same answer.
        #[test]
        fn invariants(people in prop::collection::vec(arb_person(), 0..30), by_name in any::<bool>()) {
            let options = Options { merge_by_name: by_name };
            let got = dedupe(&people, options);
            prop_assert_eq!(&got, &dedupe(&people, options));
            let mut seen = vec![false; people.len()];
            for c in &got.clusters {
                for &m in &c.members {
                    prop_assert!(!seen[m]);
                    seen[m] = true;
                }
                for m in &c.merges {
                    prop_assert_eq!(got.cluster_of[m.a], got.cluster_of[m.b]);
                }
                let mut exts: Vec<&str> =
                    c.members.iter().filter_map(|&m| people[m].external_id.as_deref()).collect();
                exts.sort_unstable();
                exts.dedup();
                prop_assert!(exts.len() <= 1, "two external ids in {:?}", c);
                if !c.conflicts.is_empty() {
                    continue;
                }
                let mut births: Vec<NaiveDate> =
                    c.members.iter().filter_map(|&m| people[m].date_of_birth).collect();
                births.sort_unstable();
                births.dedup();
                prop_assert!(births.len() <= 1, "two dates of birth in {:?}", c);
                for &x in &c.members {
                    for &y in &c.members {
                        let (a, b) = (&people[x], &people[y]);
                        prop_assert!(
                            Name::new(&a.first, &a.last).agrees(&Name::new(&b.first, &b.last)),
                            "names disagree in {:?}", c
                        );
                    }
                }
            }
            prop_assert!(seen.iter().all(|s| *s));
            for a in &got.apart {
                prop_assert_ne!(got.cluster_of[a.a], got.cluster_of[a.b]);
            }
        }
    }
}
