//! The v1.1 store: v1.0's commands on `src/hashtable.rs` instead of std's `HashMap`.

use std::io;

use crate::cli::ServerOpts;
use crate::hashtable::HashTable;

use crate::server::{Keyspace, serve_with};

// ANCHOR: keyspace
impl Keyspace for HashTable<Vec<u8>> {
    fn get(&mut self, key: &[u8]) -> Option<&Vec<u8>> {
        HashTable::get(self, key)
    }
    fn get_mut(&mut self, key: &[u8]) -> Option<&mut Vec<u8>> {
        HashTable::get_mut(self, key)
    }
    fn insert(&mut self, key: &[u8], value: Vec<u8>) {
        HashTable::insert(self, key, value);
    }
    fn remove(&mut self, key: &[u8]) {
        HashTable::remove(self, key);
    }
}

pub fn serve(opts: &ServerOpts) -> io::Result<()> {
    serve_with::<HashTable<Vec<u8>>>(opts)
}
// ANCHOR_END: keyspace
