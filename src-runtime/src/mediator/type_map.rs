//! A map keyed by [`TypeId`] with a pass-through hasher: type ids are already well-mixed hashes,
//! so hashing them again would only cost time on every send.

use std::any::TypeId;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// `HashMap<TypeId, V>` that uses the type id's own bits as the hash.
pub(crate) type TypeMap<V> = HashMap<TypeId, V, BuildHasherDefault<TypeIdHasher>>;

/// Hashes a [`TypeId`] to the 64 bits it writes.
#[derive(Default)]
pub(crate) struct TypeIdHasher(u64);

impl Hasher for TypeIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, value: u64) {
        self.0 ^= value;
    }

    /// Fallback should `TypeId`'s `Hash` impl ever write bytes: FNV-1a, still deterministic.
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}
