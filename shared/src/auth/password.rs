//! Passwords: the strength policy, and argon2id hashing to PHC strings.
//!
//! Hashing is deliberately slow (tens of milliseconds), so callers run it on
//! the blocking pool: see [`PasswordHasher::hash`] and [`PasswordHasher::verify`].

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::PasswordHasher as _;
use argon2::password_hash::phc::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::config::PasswordHashConfig;
use crate::error::{Error, Result};

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Commonly used passwords that the composition rules alone would let
/// through, lower-cased. Derived from Django's common-passwords list (BSD),
/// keeping the entries of 8+ characters with a letter and a digit.
const COMMON_PASSWORDS: &str = include_str!("common-passwords.txt");

fn common_passwords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON_PASSWORDS.lines().collect())
}

/// Checks a new password against the register rules; the error says which
/// rule failed (and never echoes the password).
pub fn check_strength(password: &str) -> Result<()> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(Error::WeakPassword(
            "Password must be at least 8 characters long",
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(Error::WeakPassword(
            "Password must be at most 128 characters long",
        ));
    }
    if !password.chars().any(char::is_uppercase) {
        return Err(Error::WeakPassword(
            "Password must contain an upper-case letter",
        ));
    }
    if !password.chars().any(char::is_lowercase) {
        return Err(Error::WeakPassword(
            "Password must contain a lower-case letter",
        ));
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        return Err(Error::WeakPassword("Password must contain a digit"));
    }
    if common_passwords().contains(password.to_lowercase().as_str()) {
        return Err(Error::WeakPassword(
            "Password is too common; choose a less predictable one",
        ));
    }
    Ok(())
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    Mismatch,
    Match,
    /// Correct, but the hash was made with other parameters: store a new one.
    MatchNeedsRehash,
}

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// One hash per core at a time: argon2 is memory-bound, and more hashes
    /// in flight than cores only thrash the caches (measured: 16 at once on
    /// 2 cores ran at 60% of the throughput of 2 at once).
    in_flight: Arc<tokio::sync::Semaphore>,
    /// Verified against when the email is unknown, so that an unknown email
    /// costs what a wrong password costs. Made on first need, not at start.
    dummy_hash: Arc<OnceLock<String>>,
    /// Argon2's working memory (19 MiB at the service's parameters), kept
    /// from one verification to the next: at most one set per permit.
    /// Allocated afresh for every verification, it came from new pages the
    /// kernel had to zero each time: 40% of a loaded login server's CPU
    /// (perf; BENCHMARKS.md, Login), which a lone hashing thread reusing
    /// its allocator's memory never paid.
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
    /// Passwords verified so far (dummy verifications included): what the
    /// login throttle bounds, observable by tests and metrics.
    verifications: Arc<AtomicU64>,
    /// New hashes begun so far, likewise.
    hashes: Arc<AtomicU64>,
}

impl PasswordHasher {
    pub fn new(config: PasswordHashConfig) -> Result<PasswordHasher> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|e| Error::Internal(format!("argon2 parameters: {e}")))?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(PasswordHasher {
            params,
            in_flight: Arc::new(tokio::sync::Semaphore::new(cores)),
            dummy_hash: Arc::new(OnceLock::new()),
            memory: Arc::new(Mutex::new(Vec::with_capacity(cores))),
            verifications: Arc::new(AtomicU64::new(0)),
            hashes: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Faults in one set of argon2's working memory on a thread of its own,
    /// for a function whose requests verify passwords. A new instance's
    /// first verification otherwise pays for the kernel zeroing 19 MiB of
    /// fresh pages (7.7 ms on the benchmark machine; BENCHMARKS.md, "The
    /// first signature"), where the first request's DynamoDB round trips,
    /// which come before any verification, leave the CPU idle. Holding the
    /// memory lock while it works, a verification that comes first waits
    /// for the set half made rather than allocating another.
    pub fn prepare_memory(&self) {
        let memory = Arc::clone(&self.memory);
        let blocks = self.params.block_count();
        let thread = std::thread::Builder::new().name("argon2-memory".into());
        let spawned = thread.spawn(move || {
            if let Ok(mut free) = memory.lock() {
                let mut set = Vec::new();
                // `resize` writes every block, so every page is touched here.
                set.resize(blocks, Block::default());
                free.push(set);
            }
        });
        if let Err(e) = spawned {
            tracing::warn!("argon2 working memory not prepared ahead: {e}");
        }
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    fn hash_now(&self, password: &str) -> Result<String> {
        let hash: PasswordHash = self
            .argon2()
            .hash_password(password.as_bytes())
            .map_err(|e| Error::Internal(format!("argon2 hash: {e}")))?;
        Ok(hash.to_string())
    }

    fn verify_now(&self, password: &str, stored: &str) -> Verification {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return Verification::Mismatch;
        };
        if !self.matches(password, &parsed) {
            return Verification::Mismatch;
        }
        let current = parsed.algorithm.as_str() == "argon2id"
            && Params::try_from(&parsed).is_ok_and(|p| {
                p.m_cost() == self.params.m_cost()
                    && p.t_cost() == self.params.t_cost()
                    && p.p_cost() == self.params.p_cost()
            });
        if current {
            Verification::Match
        } else {
            Verification::MatchNeedsRehash
        }
    }

    /// What argon2's `verify_password` does, in working memory kept from
    /// the last verification instead of a new allocation.
    fn matches(&self, password: &str, stored: &PasswordHash) -> bool {
        let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
            return false;
        };
        let Ok(params) = Params::try_from(stored) else {
            return false;
        };
        let Ok(algorithm) = Algorithm::try_from(stored.algorithm.as_str()) else {
            return false;
        };
        let version = match stored.version.map(Version::try_from).transpose() {
            Ok(version) => version.unwrap_or_default(),
            Err(_) => return false,
        };
        let mut output = vec![0u8; expected.len()];
        let mut memory = self
            .memory
            .lock()
            .map_or(None, |mut free| free.pop())
            .unwrap_or_default();
        if memory.len() < params.block_count() {
            memory.resize(params.block_count(), Block::default());
        }
        let blocks = params.block_count();
        let hashed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            &mut output,
            &mut memory[..blocks],
        );
        if let Ok(mut free) = self.memory.lock() {
            free.push(memory);
        }
        // `Output`'s equality is constant-time.
        hashed.is_ok() && Output::new(&output).is_ok_and(|output| &output == expected)
    }

    async fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.in_flight)
            .acquire_owned()
            .await
            .map_err(|_| Error::Internal("hash limiter closed".into()))
    }

    /// How many passwords this hasher has been asked to verify.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::SeqCst)
    }

    /// How many new hashes this hasher has begun.
    pub fn hashes(&self) -> u64 {
        self.hashes.load(Ordering::SeqCst)
    }

    /// Hashes on the blocking pool.
    pub async fn hash(&self, password: &str) -> Result<String> {
        let permit = self.permit().await?;
        self.hashes.fetch_add(1, Ordering::SeqCst);
        let hasher = self.clone();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            hasher.hash_now(&password)
        })
        .await
        .map_err(|e| Error::Internal(format!("hash task: {e}")))?
    }

    /// Verifies on the blocking pool. With no stored hash (unknown account)
    /// a dummy hash is verified instead and the answer is a mismatch.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<Verification> {
        self.verifications.fetch_add(1, Ordering::SeqCst);
        let permit = self.permit().await?;
        let hasher = self.clone();
        let password = password.to_owned();
        let stored = stored.map(str::to_owned);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            match stored {
                Some(stored) => Ok(hasher.verify_now(&password, &stored)),
                None => {
                    let dummy = match hasher.dummy_hash.get() {
                        Some(d) => d.clone(),
                        None => {
                            let made = hasher.hash_now("dummy password for unknown accounts")?;
                            hasher.dummy_hash.get_or_init(|| made).clone()
                        }
                    };
                    hasher.verify_now(&password, &dummy);
                    Ok(Verification::Mismatch)
                }
            }
        })
        .await
        .map_err(|e| Error::Internal(format!("verify task: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_strength_rule_names_itself() {
        let cases = [
            ("Sh0rt", "at least 8"),
            ("alllower-case-1", "upper-case"),
            ("ALLUPPER-CASE-1", "lower-case"),
            ("No-Digits-Here", "digit"),
            ("Password1", "too common"),
            ("Passw0rd", "too common"),
        ];
        for (pw, expected) in cases {
            let err = check_strength(pw).unwrap_err();
            assert_eq!(err.code(), "WEAK_PASSWORD");
            assert!(err.to_string().contains(expected), "{pw}: {err}");
            assert!(!err.to_string().contains(pw));
        }
        let long = format!("Aa1{}", "x".repeat(126));
        assert!(
            check_strength(&long)
                .unwrap_err()
                .to_string()
                .contains("at most 128")
        );
        check_strength("Secure-pass-123").unwrap();
    }

    #[tokio::test]
    async fn hashes_are_argon2id_at_owasp_parameters_and_verify() {
        let hasher = PasswordHasher::new(PasswordHashConfig::OWASP).unwrap();
        let hash = hasher.hash("Secure-pass-123").await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert_eq!(
            hasher.verify("Secure-pass-123", Some(&hash)).await.unwrap(),
            Verification::Match
        );
        assert_eq!(
            hasher.verify("Secure-pass-124", Some(&hash)).await.unwrap(),
            Verification::Mismatch
        );
        assert_eq!(
            hasher.verify("Secure-pass-123", None).await.unwrap(),
            Verification::Mismatch
        );
        assert_eq!(
            hasher.verify("x", Some("not a phc string")).await.unwrap(),
            Verification::Mismatch
        );
    }

    #[tokio::test]
    async fn hashes_with_other_parameters_ask_for_a_rehash() {
        let stronger = PasswordHashConfig {
            memory_kib: 32 * 1024,
            ..PasswordHashConfig::OWASP
        };
        let old = PasswordHasher::new(PasswordHashConfig::OWASP).unwrap();
        let new = PasswordHasher::new(stronger).unwrap();
        let hash = old.hash("Secure-pass-123").await.unwrap();
        assert_eq!(
            new.verify("Secure-pass-123", Some(&hash)).await.unwrap(),
            Verification::MatchNeedsRehash
        );
    }

    /// The memory made ahead is the memory the first verification uses:
    /// one full set, taken and put back, and the answer unchanged.
    #[tokio::test]
    async fn memory_made_ahead_is_taken_by_the_first_verification() {
        let hasher = PasswordHasher::new(PasswordHashConfig::OWASP).unwrap();
        let hash = hasher.hash("Secure-pass-123").await.unwrap();
        hasher.prepare_memory();
        let blocks = hasher.params.block_count();
        let ready = || {
            let free = hasher.memory.lock().unwrap();
            free.len() == 1 && free[0].len() == blocks
        };
        for _ in 0..500 {
            if ready() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(ready(), "no set of {blocks} blocks made ahead within 5 s");
        assert_eq!(
            hasher.verify("Secure-pass-123", Some(&hash)).await.unwrap(),
            Verification::Match
        );
        assert_eq!(
            hasher.verify("Wrong-pass-123", Some(&hash)).await.unwrap(),
            Verification::Mismatch
        );
        // Taken and put back: still the one set, not a second allocation.
        assert_eq!(hasher.memory.lock().unwrap().len(), 1);
    }

    /// Verification reuses working memory left by the previous one: hashes
    /// made by the argon2 crate's own allocating code (other variants and
    /// parameters included) must verify after any earlier verification,
    /// and wrong passwords must not.
    #[tokio::test]
    async fn reused_working_memory_verifies_as_the_reference_does() {
        let hasher = PasswordHasher::new(PasswordHashConfig::OWASP).unwrap();
        let reference = |algorithm, m_cost| {
            let params = Params::new(m_cost, 2, 1, None).unwrap();
            Argon2::new(algorithm, Version::V0x13, params)
                .hash_password(b"Secure-pass-123")
                .unwrap()
                .to_string()
        };
        let hashes = [
            reference(Algorithm::Argon2id, 19 * 1024),
            reference(Algorithm::Argon2i, 8 * 1024),
            reference(Algorithm::Argon2d, 24 * 1024),
            reference(Algorithm::Argon2id, 19 * 1024),
        ];
        for hash in &hashes {
            assert_ne!(
                hasher.verify("Secure-pass-124", Some(hash)).await.unwrap(),
                Verification::Match,
                "{hash}"
            );
            assert_ne!(
                hasher.verify("Secure-pass-123", Some(hash)).await.unwrap(),
                Verification::Mismatch,
                "{hash}"
            );
        }
        assert_eq!(
            hasher
                .verify("Secure-pass-123", Some(&hashes[3]))
                .await
                .unwrap(),
            Verification::Match
        );
    }
}
