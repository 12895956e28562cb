// src/avl.rs as this stage has it, cut by src/snapshots.rs: edit src/, then run
// `REDIS_LITE_SNAPSHOTS=write cargo test --lib snapshots`.
//! An order-statistic AVL tree, its nodes in an arena (introduced in v1.3, for sorted sets).
//!
//! A sorted set is asked two kinds of question: where does a value go (the first member whose
//! score is at least 10), and what is k places away (the 1,000th member, or ten after this
//! one). A balanced search tree answers the first in O(log n). Asked the second, it walks
//! one successor at a time: O(k). An *order-statistic* tree answers both in O(log n): each
//! node also counts the nodes in its subtree, its *size*. A node's rank is then the sizes of
//! the left subtrees beside its path to the root, and the node k places away is found by
//! climbing until the subtree underfoot holds it, then descending by sizes, without visiting
//! the nodes between.
//!
//! The balance is AVL's: at every node, the heights of the two subtrees differ by at most one.
//! That keeps the height below 1.44 log2(n + 2) (45 for the most nodes an arena here can hold),
//! so every walk is O(log n). An insert or a removal restores it on its way back up to the
//! root, rotating where a node's subtrees differ by two.
//!
//! Why AVL, when most libraries balance with red-black trees and Redis uses a skip list:
//!
//! - A red-black tree balances more loosely (height up to 2 log2 n) so that inserts and
//!   removals can stop rebalancing early. Here nothing stops early: every ancestor's size
//!   changes, so both trees walk to the root anyway. AVL is shallower for lookups, its
//!   invariant is one line where red-black's takes several, and its fix-up is one function.
//! - Redis's skip list is a linked list with random express lanes, each link counting the
//!   nodes it skips. It is simpler to write in C, but its O(log n) is expected, not
//!   guaranteed, and each node holds a random number of links (1.33 on average in Redis, 16
//!   bytes each).
//! - std's `BTreeMap` keeps order, but cannot count: its millionth entry is a million steps
//!   away, and an entry has no handle that stays valid while others come and go.
//!
//! # Why an arena
//!
//! Each node links to its parent as well as its children: climbing is how rank, offset and the
//! fix-up work, from a node the caller holds. Safe Rust cannot build that from `Box`es: a
//! `Box` is its node's one owner, so a child cannot also hold a pointer back to the parent
//! that owns it. The usual ways round are `Rc<RefCell<Node>>` down and `Weak` up, which costs
//! two counts and a borrow flag per node, a count check per step up, a borrow check per access
//! and an allocation per node; or raw pointers, as the C original does, which is `unsafe` on
//! every link, and this crate refuses `unsafe` outside `sys`. Instead the nodes live in one
//! `Vec`, the *arena*, and a link is a node's index in it. The `Vec` owns every node, a link
//! is a plain number that can point up as easily as down, and a bad index panics instead of
//! corrupting memory. The borrow checker no longer sees the links, so a wrong one is a logic
//! bug, not a compile error: [`Avl::check_invariants`] is how the tests find them. A removed
//! node's slot goes on a free list, and the next insert takes it.
//!
//! Links are `u32`, not `usize`: three links and a size take 16 bytes instead of 32, and more
//! nodes fit in the cache. An arena can then hold 2^32 - 1 nodes, four billion: more than a
//! server of this size will keep in one set (at 48 bytes each, 200 GB); `insert` panics past
//! it. A missing link is `NIL`, `u32::MAX`, rather than `Option<u32>` (8 bytes) or
//! `Option<NonZeroU32>` (4 bytes, but slot 0 would be wasted and every index off by one). The
//! compiler does not make us check for `NIL` as it would for `None`, but no arena reaches
//! index `u32::MAX`, so using `NIL` as an index panics at once.
//!
//! # Stable ids
//!
//! A [`NodeId`] names a node for as long as the node is in the tree: inserting, removing or
//! updating *other* values never changes which value an id refers to. The sorted set relies
//! on it, as it keeps ids in its hash table. So removing a node with two children relinks its
//! successor *node* into its place; the textbook way, copying the successor's value into the
//! doomed node, would quietly change what two ids name. Once its node is removed, an id is
//! stale, like an index into a `Vec` after a removal: the slot is reused by a later insert, and
//! nothing detects the stale id (a generation count per slot would, for 4 bytes a node).
//!
//! Values are ordered by `T`'s `Ord`. Equal values are allowed; a new one goes after those
//! already there, so an in-order walk is non-decreasing.
//!
//! Invariants, checked by [`Avl::check_invariants`] after every step of the tests: every
//! node's height and size are computed from its children's; the two heights differ by at most
//! one; in order, values never decrease; each child's parent link names its parent, and the
//! root's is `NIL`; `len` is the number of nodes reachable from the root; every slot is either
//! reachable or on the free list, and never both.
//!
//! What it does not do: remove a range. Redis's ZREMRANGEBYRANK removes k members in
//! O(k + log n); here that is k removals, O(k log n). Splitting a tree at a rank and joining
//! two trees, both O(log n) in an AVL tree, would do it: an exercise. It never gives memory
//! back either: freed slots are reused, not returned. And the arena grows as a `Vec` does, by
//! doubling, so one insert in a while moves every node (for big arenas the allocator remaps
//! pages rather than copying bytes, but it is still the kind of pause the v1.1 hash table
//! avoids by allocating a page at a time).

use std::cmp::Ordering;
use std::fmt;

// ANCHOR: node
/// No node: the child link of a leaf, the parent link of the root, the root of an empty tree.
const NIL: u32 = u32::MAX;

/// Children are an array indexed by side, so that each left case and its mirror-image right
/// case are one piece of code with the side as a number (as in Ben Pfaff's libavl).
const LEFT: usize = 0;
const RIGHT: usize = 1;

/// A handle on a value in the tree: its node's index in the arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeId(u32);

struct Node<T> {
    /// `None` while the slot is on the free list.
    value: Option<T>,
    child: [u32; 2],
    parent: u32,
    /// Nodes in this subtree, this one included: what rank and offset count with.
    size: u32,
    /// Nodes on the longest path down from here: 1 for a leaf, 0 for `NIL`. At most 45.
    height: u8,
}

/// A sorted multiset of `T`, with stable ids, ranks and offsets in O(log n).
pub struct Avl<T> {
    nodes: Vec<Node<T>>,
    /// Slots of removed nodes, reused last-freed first.
    free: Vec<u32>,
    root: u32,
}
// ANCHOR_END: node

const LIVE: &str = "a NodeId of a node in the tree";

impl<T> Default for Avl<T> {
    fn default() -> Self {
        Avl::new()
    }
}

impl<T> Avl<T> {
    pub fn new() -> Avl<T> {
        Avl { nodes: Vec::new(), free: Vec::new(), root: NIL }
    }

    pub fn len(&self) -> usize {
        self.size(self.root) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.root == NIL
    }

    /// The value `id` names. Panics if its node was removed (unless its slot was reused).
    pub fn get(&self, id: NodeId) -> &T {
        self.value(id.0)
    }

    /// Whether `id` names a node in the tree: false once it is removed, until its slot is reused.
    pub fn contains(&self, id: NodeId) -> bool {
        self.nodes.get(id.0 as usize).is_some_and(|node| node.value.is_some())
    }

    pub fn first(&self) -> Option<NodeId> {
        some(self.extreme(self.root, LEFT))
    }

    /// Every value in order, with its id.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { tree: self, at: self.extreme(self.root, LEFT) }
    }

    /// The values from `id`'s on, in order, with their ids.
    pub fn iter_from(&self, id: NodeId) -> Iter<'_, T> {
        Iter { tree: self, at: self.live(id) }
    }

    /// The tree taken apart: every value, in the arena's order (not the tree's), each moved out
    /// as the iterator reaches it, so that a caller can free a big tree a slice at a time.
    pub fn into_values(self) -> impl Iterator<Item = T> + Send
    where
        T: Send,
    {
        self.nodes.into_iter().filter_map(|node| node.value)
    }

    // ANCHOR: lower_bound
    /// The first node whose value is not below a probe. `cmp` says how a value compares with
    /// the probe, as for `slice::binary_search_by`, so a caller can seek with a probe that is
    /// not a `T` (a score and a borrowed name) and allocate nothing.
    pub fn lower_bound_by(&self, mut cmp: impl FnMut(&T) -> Ordering) -> Option<NodeId> {
        let (mut at, mut found) = (self.root, NIL);
        while at != NIL {
            if cmp(self.value(at)) == Ordering::Less {
                at = self.node(at).child[RIGHT];
            } else {
                (found, at) = (at, self.node(at).child[LEFT]);
            }
        }
        some(found)
    }
    // ANCHOR_END: lower_bound

    // ANCHOR: offset
    /// The node `k` places after `id` in order (before it, for negative `k`), if there is one.
    /// O(log n) however large `k` is: climb until the target is in the subtree underfoot,
    /// then descend towards it, counting with subtree sizes.
    pub fn offset(&self, id: NodeId, k: i64) -> Option<NodeId> {
        // `pos` is the rank of `at` minus the rank of `id`: the walk ends when it reaches `k`.
        let (mut at, mut pos) = (self.live(id), 0i64);
        while pos != k {
            let [left, right] = self.node(at).child;
            if pos < k && k <= pos + i64::from(self.size(right)) {
                // Down to the right child, which comes after `at` and its own left subtree.
                at = right;
                pos += i64::from(self.size(self.node(at).child[LEFT])) + 1;
            } else if k < pos && pos - i64::from(self.size(left)) <= k {
                // Down to the left child, which comes before `at` and its own right subtree.
                at = left;
                pos -= i64::from(self.size(self.node(at).child[RIGHT])) + 1;
            } else {
                // Not below `at`: climb. A parent on the left comes before `at`'s left
                // subtree, and one on the right after `at`'s right subtree.
                let parent = self.node(at).parent;
                if parent == NIL {
                    return None;
                }
                match self.node(parent).child[RIGHT] == at {
                    true => pos -= i64::from(self.size(left)) + 1,
                    false => pos += i64::from(self.size(right)) + 1,
                }
                at = parent;
            }
        }
        Some(NodeId(at))
    }
    // ANCHOR_END: offset

    // ANCHOR: rank
    /// How many values come before `id`'s: those in its left subtree, and, for each step up
    /// from a right child, the parent and the parent's left subtree.
    pub fn rank(&self, id: NodeId) -> usize {
        let mut at = self.live(id);
        let mut rank = self.size(self.node(at).child[LEFT]) as usize;
        while self.node(at).parent != NIL {
            let parent = self.node(at).parent;
            if self.node(parent).child[RIGHT] == at {
                rank += self.size(self.node(parent).child[LEFT]) as usize + 1;
            }
            at = parent;
        }
        rank
    }
    // ANCHOR_END: rank

    /// `id`'s slot, checked to hold a node: a stale id panics here rather than walking links
    /// that mean nothing any more. (A slot already reused cannot be told apart.)
    fn live(&self, id: NodeId) -> u32 {
        assert!(self.contains(id), "{id:?} is not in the tree");
        id.0
    }

    fn node(&self, i: u32) -> &Node<T> {
        &self.nodes[i as usize]
    }

    fn node_mut(&mut self, i: u32) -> &mut Node<T> {
        &mut self.nodes[i as usize]
    }

    fn value(&self, i: u32) -> &T {
        self.node(i).value.as_ref().expect(LIVE)
    }

    fn size(&self, i: u32) -> u32 {
        if i == NIL { 0 } else { self.node(i).size }
    }

    fn height_of(&self, i: u32) -> u8 {
        if i == NIL { 0 } else { self.node(i).height }
    }

    /// The last node down from `at` always taking side `side`: the leftmost or rightmost.
    fn extreme(&self, mut at: u32, side: usize) -> u32 {
        while at != NIL && self.node(at).child[side] != NIL {
            at = self.node(at).child[side];
        }
        at
    }

    /// The neighbour of `at` in order on side `side` (RIGHT: the successor), or `NIL`: the
    /// nearest node of its subtree on that side, or else the first ancestor it is beside.
    fn step(&self, at: u32, side: usize) -> u32 {
        let below = self.node(at).child[side];
        if below != NIL {
            return self.extreme(below, 1 - side);
        }
        let (mut at, mut parent) = (at, self.node(at).parent);
        while parent != NIL && self.node(parent).child[side] == at {
            (at, parent) = (parent, self.node(parent).parent);
        }
        parent
    }

    /// Which child `at` is of its parent (LEFT for the root, where it does not matter).
    fn side_of(&self, at: u32) -> usize {
        let parent = self.node(at).parent;
        usize::from(parent != NIL && self.node(parent).child[RIGHT] == at)
    }

    /// Hangs `child` (or nothing) on side `side` of `parent`: of the root slot, if `parent` is
    /// `NIL`. The one place links are written, so that the link down and the link up always
    /// change together.
    fn set_child(&mut self, parent: u32, side: usize, child: u32) {
        match parent {
            NIL => self.root = child,
            _ => self.node_mut(parent).child[side] = child,
        }
        if child != NIL {
            self.node_mut(child).parent = parent;
        }
    }

    /// Puts `new` (or nothing) where `old` hangs. `old`'s own links are left as they were.
    fn transplant(&mut self, old: u32, new: u32) {
        self.set_child(self.node(old).parent, self.side_of(old), new);
    }

    /// Recomputes `at`'s height and size from its children's.
    fn recompute(&mut self, at: u32) {
        let [left, right] = self.node(at).child;
        let height = 1 + self.height_of(left).max(self.height_of(right));
        let size = 1 + self.size(left) + self.size(right);
        let node = self.node_mut(at);
        (node.height, node.size) = (height, size);
    }

    // ANCHOR: rotate
    /// Rotates `x` down to side `down`: its child on the other side, `y`, takes its place, and
    /// `y`'s inner subtree `b`, which lies between them in order, moves across to `x`. The
    /// order is unchanged; `y` is returned.
    ///
    /// ```text
    ///     x                 y        (down = LEFT: a left rotation;
    ///    / \               / \        its mirror image, down = RIGHT,
    ///   a   y      =>     x   c       is a right rotation)
    ///      / \           / \
    ///     b   c         a   b
    /// ```
    fn rotate(&mut self, x: u32, down: usize) -> u32 {
        let up = 1 - down;
        let y = self.node(x).child[up];
        let b = self.node(y).child[down];
        self.transplant(x, y);
        self.set_child(x, up, b);
        self.set_child(y, down, x);
        self.recompute(x); // x first: it is now y's child
        self.recompute(y);
        y
    }
    // ANCHOR_END: rotate

    // ANCHOR: fix_up
    /// Walks from `at` up to the root after a node below it came (`grown` = 1) or went (-1),
    /// recomputing each node's height and size and rotating where its subtrees' heights differ
    /// by two. Once a subtree's height is what it was, no height above changes, so a plain AVL
    /// tree stops there. This one cannot, as every ancestor's size has changed, but from there
    /// it only adds `grown` to each size: no rotations, and no reading the children, which
    /// are off the path and often not in the cache.
    fn fix_up(&mut self, mut at: u32, grown: i32) {
        while at != NIL {
            let height = self.node(at).height;
            at = self.rebalance(at);
            if self.node(at).height == height {
                break;
            }
            at = self.node(at).parent;
        }
        while at != NIL && self.node(at).parent != NIL {
            at = self.node(at).parent;
            let size = &mut self.node_mut(at).size;
            *size = size.checked_add_signed(grown).expect("a size in 1..2^32");
        }
    }

    /// Restores the AVL invariant at `x`, whose subtrees are balanced but may differ in height
    /// by two, and returns the subtree's root, which may now be another node.
    fn rebalance(&mut self, x: u32) -> u32 {
        self.recompute(x);
        let [left, right] = self.node(x).child;
        let (hl, hr) = (self.height_of(left), self.height_of(right));
        if hl.abs_diff(hr) < 2 {
            return x;
        }
        let (heavy, light) = if hl > hr { (LEFT, RIGHT) } else { (RIGHT, LEFT) };
        let c = self.node(x).child[heavy];
        let [inner, outer] = [self.node(c).child[light], self.node(c).child[heavy]];
        if self.height_of(inner) > self.height_of(outer) {
            // `c` leans inward: rotating `x` alone would only make the subtree lean the other
            // way. Rotating `c` first makes it lean outward, and then one rotation settles it.
            self.rotate(c, heavy);
        }
        self.rotate(x, light)
    }
    // ANCHOR_END: fix_up

    // ANCHOR: remove
    /// Removes `id`'s node and returns its value. Every other id still names its value.
    pub fn remove(&mut self, id: NodeId) -> T {
        let value = self.node_mut(id.0).value.take().expect(LIVE);
        self.unlink(id.0);
        self.free.push(id.0);
        value
    }

    /// Takes node `z` out of the tree, then rebalances from where the tree changed up to the
    /// root. With two children, `z`'s place goes to its successor `s`: `s` is relinked there,
    /// with its value, so that no value changes node and no id changes meaning.
    fn unlink(&mut self, z: u32) {
        let Node { child: [left, right], height, size, .. } = *self.node(z);
        let changed = if left == NIL || right == NIL {
            let parent = self.node(z).parent;
            self.transplant(z, if left == NIL { right } else { left });
            parent
        } else {
            // The leftmost node on the right: it has no left child, so it leaves easily.
            let s = self.extreme(right, LEFT);
            let changed = match s == right {
                true => s, // already below z: it keeps its right subtree
                false => {
                    let parent = self.node(s).parent;
                    self.transplant(s, self.node(s).child[RIGHT]);
                    self.set_child(s, RIGHT, right);
                    parent
                }
            };
            self.transplant(z, s);
            self.set_child(s, LEFT, left);
            // `s` counts as `z` did, so that above where the heights settle, `fix_up` need
            // only take the one node away from each size.
            (self.node_mut(s).height, self.node_mut(s).size) = (height, size);
            changed
        };
        self.fix_up(changed, -1);
    }
    // ANCHOR_END: remove
}

impl<T: Ord> Avl<T> {
    // ANCHOR: insert
    /// Adds `value`, after any equal values already there, and returns its node's id.
    pub fn insert(&mut self, value: T) -> NodeId {
        let node = Node { value: Some(value), child: [NIL; 2], parent: NIL, size: 1, height: 1 };
        let at = match self.free.pop() {
            Some(at) => {
                *self.node_mut(at) = node;
                at
            }
            None => {
                let at = u32::try_from(self.nodes.len()).ok().filter(|&at| at != NIL);
                let at = at.expect("an arena holds at most 2^32 - 1 nodes");
                self.nodes.push(node);
                at
            }
        };
        self.link(at);
        NodeId(at)
    }

    /// Hangs node `z`, not in the tree, as a leaf where its value belongs, then rebalances up
    /// to the root.
    fn link(&mut self, z: u32) {
        let (mut parent, mut side, mut at) = (NIL, LEFT, self.root);
        while at != NIL {
            side = if self.value(z) < self.value(at) { LEFT } else { RIGHT };
            (parent, at) = (at, self.node(at).child[side]);
        }
        let node = self.node_mut(z);
        (node.child, node.size, node.height) = ([NIL; 2], 1, 1);
        self.set_child(parent, side, z);
        self.fix_up(parent, 1);
    }
    // ANCHOR_END: insert

    // ANCHOR: update
    /// Changes `id`'s value with `change`, then moves the node to where its new value belongs;
    /// `id` still names it. If the value still fits between its neighbours, as after a small
    /// change of score it usually does, nothing moves (Redis's skip list does the same).
    pub fn update(&mut self, id: NodeId, change: impl FnOnce(&mut T)) {
        let z = id.0;
        change(self.node_mut(z).value.as_mut().expect(LIVE));
        let (before, after) = (self.step(z, LEFT), self.step(z, RIGHT));
        let fits = (before == NIL || self.value(before) <= self.value(z))
            && (after == NIL || self.value(z) <= self.value(after));
        if !fits {
            self.unlink(z);
            self.link(z);
        }
    }
    // ANCHOR_END: update
}

/// `NIL` as `None`, anything else as the node's id.
fn some(at: u32) -> Option<NodeId> {
    (at != NIL).then_some(NodeId(at))
}

/// The values in order from a node on, with their ids. Each step is O(1) on average (a walk
/// over the whole tree crosses each link twice), O(log n) at worst.
pub struct Iter<'a, T> {
    tree: &'a Avl<T>,
    at: u32,
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = (NodeId, &'a T);

    fn next(&mut self) -> Option<Self::Item> {
        let at = some(self.at)?;
        self.at = self.tree.step(self.at, RIGHT);
        Some((at, self.tree.value(at.0)))
    }
}

impl<T: fmt::Debug> fmt::Debug for Avl<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter().map(|(_, value)| value)).finish()
    }
}
