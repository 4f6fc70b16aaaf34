//! The exact search of `settle`: the largest number of zero-sum groups that
//! at most [`EXACT_LIMIT`](super::EXACT_LIMIT) non-zero balances split into,
//! by dynamic programming over all their subsets, one bit per subset.

/// Splits `members` (indices into `nets`, at most
/// [`EXACT_LIMIT`](super::EXACT_LIMIT), summing to zero) into the largest
/// possible number of zero-sum groups.
pub(super) fn zero_sum_groups(members: &[usize], nets: &[i64]) -> Vec<Vec<usize>> {
    let n = members.len();
    if n == 0 {
        return Vec::new();
    }
    let values: Vec<i128> = members.iter().map(|&m| i128::from(nets[m])).collect();
    let zero = Subsets::zero_sum(&values);
    let levels = group_levels(&zero, n);
    let most = |mask: usize| most_groups(&levels, mask);

    // Walk back from the whole set, each time dropping the earliest member
    // that keeps the count (`most` drops by one exactly at zero-sum sets);
    // the zero-sum sets passed on the way delimit the groups, and the empty
    // set ends the last one.
    let mut groups = Vec::new();
    let mut group = Vec::new();
    let mut mask = (1usize << n) - 1;
    while mask != 0 {
        let keep = most(mask) - usize::from(zero.get(mask));
        // The recurrence guarantees a match; the lowest member is only a
        // formal default.
        let mut drop = mask & mask.wrapping_neg();
        let mut scan = mask;
        while scan != 0 {
            let bit = scan & scan.wrapping_neg();
            scan ^= bit;
            if most(mask ^ bit) == keep {
                drop = bit;
                break;
            }
        }
        group.push(members[drop.trailing_zeros() as usize]);
        mask ^= drop;
        if mask == 0 || zero.get(mask) {
            groups.push(std::mem::take(&mut group));
        }
    }
    groups
}

/// `levels[d]`: the subsets of the n members that hold more than d disjoint
/// zero-sum groups, given the zero-sum subsets `zero`.
///
/// The most disjoint zero-sum groups inside a set S is also the longest chain
/// Z1 ⊊ Z2 ⊊ … ⊆ S of zero-sum sets (their differences are the groups, and
/// the unions of groups are such a chain). So level by level: `chains` holds
/// the zero-sum sets that end a chain of d + 1, the level the sets containing
/// one of them, and a zero-sum set ends a chain one longer when it has a
/// proper subset in the level. Each level takes a few passes over 2^n bits
/// (128 KiB at n = 20), and there are at most n / 2 levels.
pub(super) fn group_levels(zero: &Subsets, n: usize) -> Vec<Subsets> {
    let mut levels: Vec<Subsets> = Vec::new();
    let mut chains = zero.clone();
    while !chains.is_empty() {
        let level = chains.close_upward(n);
        chains = chains.and(&level.grown(n));
        levels.push(level);
    }
    levels
}

/// The most disjoint zero-sum groups inside `mask`, from [`group_levels`].
pub(super) fn most_groups(levels: &[Subsets], mask: usize) -> usize {
    levels.iter().take_while(|level| level.get(mask)).count()
}

/// A set of subsets of n members: bit `mask` stands for the members in `mask`.
#[derive(Clone)]
pub(super) struct Subsets {
    words: Vec<u64>,
}

/// Within one word (64 masks), the positions whose bit `b` is clear, b < 6.
const BIT_CLEAR: [u64; 6] = [
    0x5555_5555_5555_5555,
    0x3333_3333_3333_3333,
    0x0F0F_0F0F_0F0F_0F0F,
    0x00FF_00FF_00FF_00FF,
    0x0000_FFFF_0000_FFFF,
    0x0000_0000_FFFF_FFFF,
];

impl Subsets {
    fn empty(n: usize) -> Self {
        Self {
            words: vec![0; (1usize << n).div_ceil(64)],
        }
    }

    /// The non-empty subsets of `values` (at most 20) that sum to zero. Meet
    /// in the middle: a mask sums to zero when the sum over its high members
    /// cancels the one over its low members, so two lists of 2^(n/2) sums
    /// replace 2^n additions. At most 20 values of at most 2^63 each: no
    /// i128 sum overflows.
    pub(super) fn zero_sum(values: &[i128]) -> Self {
        let low_bits = values.len() / 2;
        let (low, high) = values.split_at(low_bits);
        let mut low_sums: Vec<(i128, usize)> = subset_sums(low).into_iter().zip(0..).collect();
        low_sums.sort_unstable();
        let mut zero = Self::empty(values.len());
        for (high_mask, high_sum) in subset_sums(high).into_iter().enumerate() {
            let start = low_sums.partition_point(|&(sum, _)| sum < -high_sum);
            for &(_, low_mask) in low_sums[start..]
                .iter()
                .take_while(|(sum, _)| *sum == -high_sum)
            {
                zero.set(high_mask << low_bits | low_mask);
            }
        }
        // The empty set is no group.
        if let Some(first) = zero.words.first_mut() {
            *first &= !1;
        }
        zero
    }

    pub(super) fn get(&self, mask: usize) -> bool {
        self.words
            .get(mask / 64)
            .is_some_and(|word| word >> (mask % 64) & 1 == 1)
    }

    fn set(&mut self, mask: usize) {
        if let Some(word) = self.words.get_mut(mask / 64) {
            *word |= 1 << (mask % 64);
        }
    }

    fn is_empty(&self) -> bool {
        self.words.iter().all(|&word| word == 0)
    }

    fn and(mut self, other: &Subsets) -> Self {
        for (word, &mask) in self.words.iter_mut().zip(&other.words) {
            *word &= mask;
        }
        self
    }

    /// Every set that contains a member of `self` (n members in all).
    fn close_upward(&self, n: usize) -> Self {
        let mut up = self.clone();
        // Pass b adds member b to every set in: in place is fine, as it only
        // reads sets without b and only writes sets with b.
        for (b, &clear) in BIT_CLEAR.iter().enumerate().take(n) {
            for word in &mut up.words {
                *word |= (*word & clear) << (1 << b);
            }
        }
        for b in 6..n {
            // Blocks of words: first the sets without b, then with b.
            let half = 1 << (b - 6);
            for block in up.words.chunks_mut(2 * half) {
                let (without, with) = block.split_at_mut(half);
                for (to, from) in with.iter_mut().zip(without.iter()) {
                    *to |= *from;
                }
            }
        }
        up
    }

    /// Every set that is a member of `self` plus one more member.
    fn grown(&self, n: usize) -> Self {
        let mut grown = Self::empty(n);
        for (b, &clear) in BIT_CLEAR.iter().enumerate().take(n) {
            for (to, &from) in grown.words.iter_mut().zip(&self.words) {
                *to |= (from & clear) << (1 << b);
            }
        }
        for b in 6..n {
            let half = 1 << (b - 6);
            let blocks = grown
                .words
                .chunks_mut(2 * half)
                .zip(self.words.chunks(2 * half));
            for (to, from) in blocks {
                for (to, from) in to.iter_mut().skip(half).zip(from.iter()) {
                    *to |= *from;
                }
            }
        }
        grown
    }
}

/// The sums of all 2^k subsets of k values, by mask.
fn subset_sums(values: &[i128]) -> Vec<i128> {
    let mut sums = vec![0; 1 << values.len()];
    for mask in 1..sums.len() {
        // The sum without the lowest member, plus that member.
        sums[mask] = sums[mask & (mask - 1)] + values[mask.trailing_zeros() as usize];
    }
    sums
}
