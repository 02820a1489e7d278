//! The source of a rate ("ECB", a central bank, a channel), interned: a conversion carries it as one
//! pointer that costs nothing to copy or drop, so `AppliedRate` and `Conversion` are `Copy`.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Mutex;

/// An interned rate source. Equal texts are the same `RateSource`.
///
/// Interned texts live as long as the process: one allocation per distinct text, however many tables
/// or conversions use it. A batch run sees a handful (the files' sources and their `a+b` crossings).
#[derive(Clone, Copy, Eq, PartialOrd, Ord)]
pub struct RateSource(&'static str);

/// Interned: equal texts are one pointer, so equality is a pointer comparison.
impl PartialEq for RateSource {
    fn eq(&self, other: &RateSource) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

/// Interned texts, sorted; taken only when a table is built or a cross of two sources is named.
static INTERNED: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

impl RateSource {
    /// The interned source for `text`.
    pub fn intern(text: &str) -> RateSource {
        // A poisoned lock only means another thread panicked while inserting: the set is still valid.
        let mut set = INTERNED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(existing) = set.get(text) {
            return RateSource(existing);
        }
        let leaked: &'static str = Box::leak(text.to_owned().into_boxed_str());
        set.insert(leaked);
        RateSource(leaked)
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl std::hash::Hash for RateSource {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl From<&str> for RateSource {
    fn from(text: &str) -> RateSource {
        RateSource::intern(text)
    }
}

impl std::ops::Deref for RateSource {
    type Target = str;
    fn deref(&self) -> &str {
        self.0
    }
}

impl PartialEq<str> for RateSource {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for RateSource {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for RateSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for RateSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl serde::Serialize for RateSource {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_are_one_source() {
        let a = RateSource::intern("ECB");
        let b = RateSource::from((String::from("EC") + "B").as_str()).as_str();
        assert!(std::ptr::eq(a.as_str(), b));
        assert_eq!(a, "ECB");
        assert_ne!(RateSource::intern("ECB+CBK"), a);
        assert_eq!(RateSource::intern(&"xECB"[1..]), a);
        assert_eq!(format!("{a} {a:?}"), "ECB \"ECB\"");
    }
}
