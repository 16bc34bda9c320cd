//! Judging a finding against the entries: which entry selects it, and whether that entry has
//! expired.

use std::path::Path;

use super::{is_allowlist_file, Allowlist, Day, Entry, Selector, Verdict};

impl Entry {
    /// Whether this entry selects a token with the given text, fingerprint and path.
    pub fn selects(&self, path: &Path, token: &[u8], fingerprint: &str) -> bool {
        match &self.selector {
            Selector::Fingerprint(wanted) => wanted == fingerprint,
            Selector::Path(exact, below) => exact.is_match(path) || below.is_match(path),
            Selector::Pattern(regex) => std::str::from_utf8(token).is_ok_and(|t| regex.is_match(t)),
        }
    }

    /// Whether the entry is past its expiry date on `today`.
    pub fn is_expired(&self, today: Day) -> bool {
        self.expires.is_some_and(|expires| today > expires)
    }
}

impl Allowlist {
    /// Pairs of entries with the same selector: each later entry with the first one like it.
    pub fn duplicates(&self) -> Vec<(&Entry, &Entry)> {
        let mut first_seen: std::collections::HashMap<String, &Entry> = Default::default();
        let mut duplicates = Vec::new();
        for entry in &self.entries {
            match first_seen.entry(entry.selector.describe()) {
                std::collections::hash_map::Entry::Occupied(first) => {
                    duplicates.push((entry, *first.get()));
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(entry);
                }
            }
        }
        duplicates
    }

    /// Judges entries' expiry against `today` instead of the system clock.
    pub fn with_today(mut self, today: Day) -> Allowlist {
        self.today = Some(today);
        self
    }

    /// What the allowlist says of a token found at `path`. A token in an allowlist file itself is
    /// never allowed: that file is shared with everyone who clones the repository.
    pub fn verdict(&self, path: &Path, token: &[u8], fingerprint: &str) -> Verdict<'_> {
        if is_allowlist_file(path) {
            return Verdict::NotListed;
        }
        let today = self.today.unwrap_or_else(Day::today);
        let mut expired = None;
        for entry in self
            .entries
            .iter()
            .filter(|entry| entry.selects(path, token, fingerprint))
        {
            if !entry.is_expired(today) {
                return Verdict::Allowed(entry);
            }
            expired.get_or_insert(entry);
        }
        expired.map_or(Verdict::NotListed, Verdict::Expired)
    }
}
