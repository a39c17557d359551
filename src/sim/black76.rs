//! Black-76: the value of a European option on a forward, the simulator's option pricer.
//!
//! `call = e^(−rT) · (F·N(d1) − K·N(d2))`, `put = e^(−rT) · (K·N(−d2) − F·N(−d1))`, with
//! `d1 = (ln(F/K) + σ²T/2) / (σ√T)` and `d2 = d1 − σ√T`, where F is the forward, K the
//! strike, T the years to expiry, r the risk-free rate and σ the annual volatility.
//!
//! Floats, not decimals: this is a pricing model, and its caller turns the result into a
//! price on the tick grid. Pure and total: an input outside the model's domain (a
//! non-positive forward, strike, time or volatility, or a non-finite one) gives the
//! discounted intrinsic value `e^(−rT) · max(F − K, 0)` (call) instead of NaN, which is
//! the limit of the formula as σ√T → 0.

/// The standard normal cumulative distribution N(x), to double precision.
///
/// Hart's (1968) rational approximation as arranged by West ("Better approximations to
/// cumulative normal functions", 2005): absolute error near 1e-16 over the whole line,
/// where the common Abramowitz–Stegun polynomial is good to 7e-8 only. A hand-written
/// function because `f64::erf` is not stable Rust.
pub fn norm_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let z = x.abs();
    let tail = if z > 37.0 {
        0.0
    } else {
        let gauss = (-z * z / 2.0).exp();
        if z < 7.071_067_811_865_47 {
            let numerator = horner(
                z,
                &[
                    3.526_249_659_989_11e-2,
                    0.700_383_064_443_688,
                    6.373_962_203_531_65,
                    33.912_866_078_383,
                    112.079_291_497_871,
                    221.213_596_169_931,
                    220.206_867_912_376,
                ],
            );
            let denominator = horner(
                z,
                &[
                    8.838_834_764_831_84e-2,
                    1.755_667_163_182_64,
                    16.064_177_579_207,
                    86.780_732_202_946_1,
                    296.564_248_779_674,
                    637.333_633_378_831,
                    793.826_512_519_948,
                    440.413_735_824_752,
                ],
            );
            gauss * numerator / denominator
        } else {
            // The continued fraction of the far tail.
            let mut b = z + 0.65;
            for k in [4.0, 3.0, 2.0, 1.0] {
                b = z + k / b;
            }
            gauss / b / 2.506_628_274_631
        }
    };
    if x > 0.0 { 1.0 - tail } else { tail }
}

/// `coefficients[0]·zⁿ + … + coefficients[n]`.
fn horner(z: f64, coefficients: &[f64]) -> f64 {
    coefficients.iter().fold(0.0, |acc, c| acc * z + c)
}

/// What an option is written on and for how long.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Inputs {
    /// The forward (futures) price of the underlying at expiry.
    pub forward: f64,
    pub strike: f64,
    /// Years to expiry.
    pub years: f64,
    /// Annual risk-free rate, continuously compounded (0.065 is 6.5 %).
    pub rate: f64,
    /// Annual volatility (0.15 is 15 %).
    pub volatility: f64,
}

impl Inputs {
    fn discount(&self) -> f64 {
        let years = if self.years.is_finite() {
            self.years.max(0.0)
        } else {
            0.0
        };
        (-self.rate * years).exp()
    }

    /// `(d1, d2)`, or `None` outside the model's domain (see the module docs).
    fn d1_d2(&self) -> Option<(f64, f64)> {
        let Inputs {
            forward,
            strike,
            years,
            volatility,
            ..
        } = *self;
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if !(positive(forward) && positive(strike) && positive(years) && positive(volatility)) {
            return None;
        }
        let spread = volatility * years.sqrt();
        let d1 = ((forward / strike).ln() + spread * spread / 2.0) / spread;
        Some((d1, d1 - spread))
    }
}

/// The value of a European call on the forward.
pub fn call(inputs: &Inputs) -> f64 {
    let Inputs {
        forward, strike, ..
    } = *inputs;
    let df = inputs.discount();
    match inputs.d1_d2() {
        Some((d1, d2)) => df * (forward * norm_cdf(d1) - strike * norm_cdf(d2)),
        None => df * (forward - strike).max(0.0),
    }
}

/// The value of a European put on the forward.
pub fn put(inputs: &Inputs) -> f64 {
    let Inputs {
        forward, strike, ..
    } = *inputs;
    let df = inputs.discount();
    match inputs.d1_d2() {
        Some((d1, d2)) => df * (strike * norm_cdf(-d2) - forward * norm_cdf(-d1)),
        None => df * (strike - forward).max(0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(forward: f64, strike: f64, years: f64, rate: f64, volatility: f64) -> Inputs {
        Inputs {
            forward,
            strike,
            years,
            rate,
            volatility,
        }
    }

    #[test]
    fn the_normal_cdf_matches_its_known_values() {
        // Published values of Φ (to the digits tables give) and its symmetry.
        let cases = [
            (0.0, 0.5),
            (1.0, 0.841_344_746_068_542_9),
            (-1.0, 0.158_655_253_931_457_05),
            (1.96, 0.975_002_104_851_779_6),
            (-3.0, 0.001_349_898_031_630_095_7),
            (-8.0, 6.220_960_574_271_819e-16),
        ];
        for (x, expected) in cases {
            let got = norm_cdf(x);
            assert!(
                (got - expected).abs() <= 1e-15_f64.max(expected * 1e-12),
                "N({x}) = {got}, expected {expected}"
            );
        }
        for x in [-5.0, -0.3, 0.7, 2.5, 9.0] {
            assert!(
                (norm_cdf(x) + norm_cdf(-x) - 1.0).abs() < 1e-15,
                "symmetry at {x}"
            );
        }
        assert_eq!(norm_cdf(-40.0), 0.0);
        assert_eq!(norm_cdf(40.0), 1.0);
    }

    #[test]
    fn textbook_values() {
        // Haug, The Complete Guide to Option Pricing Formulas (2nd ed.), Black-76:
        // F = 19, K = 19, T = 0.75, r = 10 %, σ = 28 %: call = put = 1.7011.
        let haug = inputs(19.0, 19.0, 0.75, 0.10, 0.28);
        assert!((call(&haug) - 1.7011).abs() < 5e-5, "{}", call(&haug));
        assert!((put(&haug) - 1.7011).abs() < 5e-5, "{}", put(&haug));
        // Hull, Options, Futures and Other Derivatives, the put on a futures contract:
        // F = K = 20, T = 4 months, r = 9 %, σ = 25 %: 1.12.
        let hull = inputs(20.0, 20.0, 4.0 / 12.0, 0.09, 0.25);
        assert!((put(&hull) - 1.12).abs() < 5e-3, "{}", put(&hull));
    }

    #[test]
    fn put_call_parity_holds_on_the_forward() {
        // c − p = e^(−rT)(F − K) for every strike, time and volatility.
        for strike in [20_000.0, 25_500.0, 26_000.0, 26_500.0, 32_000.0] {
            for years in [1.0 / 365.0, 0.05, 0.5, 2.0] {
                for volatility in [0.05, 0.15, 0.6] {
                    let x = inputs(26_000.0, strike, years, 0.065, volatility);
                    let parity = (-0.065 * years).exp() * (26_000.0 - strike);
                    let gap = call(&x) - put(&x) - parity;
                    assert!(
                        gap.abs() < 1e-7,
                        "K {strike} T {years} σ {volatility}: {gap}"
                    );
                }
            }
        }
    }

    #[test]
    fn prices_fall_with_the_call_strike_rise_with_the_put_strike_and_with_volatility() {
        let at = |strike, volatility| inputs(26_000.0, strike, 0.02, 0.065, volatility);
        let strikes: Vec<f64> = (0..40).map(|i| 24_000.0 + 100.0 * f64::from(i)).collect();
        for pair in strikes.windows(2) {
            assert!(
                call(&at(pair[0], 0.15)) > call(&at(pair[1], 0.15)),
                "{pair:?}"
            );
            assert!(
                put(&at(pair[0], 0.15)) < put(&at(pair[1], 0.15)),
                "{pair:?}"
            );
        }
        for strike in [25_000.0, 26_000.0, 27_000.0] {
            let vols = [0.05, 0.1, 0.2, 0.4, 0.8];
            for pair in vols.windows(2) {
                assert!(call(&at(strike, pair[0])) < call(&at(strike, pair[1])));
                assert!(put(&at(strike, pair[0])) < put(&at(strike, pair[1])));
            }
        }
    }

    #[test]
    fn bounds_hold_and_a_spent_option_is_worth_its_discounted_intrinsic_value() {
        for strike in [24_000.0, 26_000.0, 28_000.0] {
            let x = inputs(26_000.0, strike, 0.1, 0.065, 0.15);
            let df = (-0.065_f64 * 0.1).exp();
            assert!(call(&x) >= df * (26_000.0 - strike).max(0.0) - 1e-9);
            assert!(call(&x) <= df * 26_000.0);
            assert!(put(&x) >= df * (strike - 26_000.0).max(0.0) - 1e-9);
            assert!(put(&x) <= df * strike);
        }
        for years in [0.0, -1.0, f64::NAN] {
            let x = inputs(26_100.0, 26_000.0, years, 0.065, 0.15);
            assert_eq!(call(&x), 100.0, "T = {years}");
            assert_eq!(put(&x), 0.0, "T = {years}");
        }
        let flat = inputs(25_900.0, 26_000.0, 0.5, 0.0, 0.0);
        assert_eq!((call(&flat), put(&flat)), (0.0, 100.0));
    }
}
