//! Placeholder: operations of this API area are being added.

use super::OpEntry;

pub fn entries() -> Vec<OpEntry> {
    Vec::new()
}
