//! The v1.1 store: what v1.0's commands need of a map (`Keyspace`), from our hash table
//! (`lib/hashtable.rs`) instead of std's `HashMap`.

use crate::hashtable::HashTable;
use crate::server::Keyspace;

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
// ANCHOR_END: keyspace
