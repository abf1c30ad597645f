//! Partial updates: a field of a PATCH body is either absent, explicitly cleared or set.

/// What a partial update does to one field.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    /// The field was not sent: keep the stored value.
    #[default]
    Keep,
    /// The field was sent empty (`""`, `null`): remove the stored value.
    Clear,
    /// The field was sent with a value.
    Set(T),
}

impl<T> Patch<T> {
    /// `true` unless the field was absent.
    pub fn is_present(&self) -> bool {
        !matches!(self, Patch::Keep)
    }

    /// Applies the patch to an optional stored value.
    pub fn apply_to(self, target: &mut Option<T>) {
        match self {
            Patch::Keep => {}
            Patch::Clear => *target = None,
            Patch::Set(v) => *target = Some(v),
        }
    }

    /// The value if `Set`, by reference.
    pub fn as_set(&self) -> Option<&T> {
        match self {
            Patch::Set(v) => Some(v),
            _ => None,
        }
    }

    /// Maps the value of `Set`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Patch<U> {
        match self {
            Patch::Keep => Patch::Keep,
            Patch::Clear => Patch::Clear,
            Patch::Set(v) => Patch::Set(f(v)),
        }
    }

    /// The value if `Set`; `None` for `Keep` and `Clear` (registration forms: "not set").
    pub fn into_set(self) -> Option<T> {
        match self {
            Patch::Set(v) => Some(v),
            _ => None,
        }
    }

    /// Builds a patch from "was the field present" and its (possibly empty) value.
    pub fn from_present(present: bool, value: Option<T>) -> Self {
        match (present, value) {
            (false, _) => Patch::Keep,
            (true, None) => Patch::Clear,
            (true, Some(v)) => Patch::Set(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_keeps_clears_and_sets() {
        let mut v = Some(1);
        Patch::Keep.apply_to(&mut v);
        assert_eq!(v, Some(1));
        Patch::Set(2).apply_to(&mut v);
        assert_eq!(v, Some(2));
        Patch::<i32>::Clear.apply_to(&mut v);
        assert_eq!(v, None);
    }
}
