//! The reconnect schedule: capped exponential backoff with jitter (1 s, 2 s, 4 s … 5 min,
//! each ±20 %), and the rule that a connection must stay up a while before the schedule
//! starts over. Pure functions, so the bound on attempts per minute is unit-tested.

use std::time::Duration;

use rand::Rng;

/// The first delay.
pub const BASE: Duration = Duration::from_secs(1);
/// The longest delay.
pub const CAP: Duration = Duration::from_secs(300);
/// Relative jitter applied to every delay (±).
pub const JITTER: f64 = 0.2;
/// A connection that stays ready this long resets the schedule.
pub const STABLE_AFTER: Duration = Duration::from_secs(30);

/// The delay before retry number `failures` (1 = after the first failure), without jitter.
pub fn nominal(failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    BASE.saturating_mul(1u32 << exponent).min(CAP)
}

/// The delay before retry number `failures`, with ±20 % jitter.
pub fn delay(failures: u32) -> Duration {
    let factor = rand::rng().random_range((1.0 - JITTER)..=(1.0 + JITTER));
    nominal(failures).mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_one_second_up_to_the_cap() {
        let secs: Vec<u64> = (1..=12).map(|n| nominal(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(nominal(u32::MAX), CAP);
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        for n in 1..=10 {
            for _ in 0..50 {
                let d = delay(n).as_secs_f64();
                let base = nominal(n).as_secs_f64();
                assert!(
                    d >= base * 0.8 - 1e-9 && d <= base * 1.2 + 1e-9,
                    "{d} vs {base}"
                );
            }
        }
    }

    #[test]
    fn a_dead_server_gets_at_most_seven_attempts_a_minute() {
        // Worst case: every delay at its shortest, attempts themselves take no time.
        let mut at = 0.0;
        let mut attempts = 1; // the first attempt, at t = 0
        for n in 1.. {
            at += nominal(n).as_secs_f64() * (1.0 - JITTER);
            if at > 60.0 {
                break;
            }
            attempts += 1;
        }
        assert!(attempts <= 7, "{attempts}");
    }
}
