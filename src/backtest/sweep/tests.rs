//! The sweep grammar, the planning against the default configuration (momentum_1 and
//! ema_cross_1 enabled), the ranking and the outputs.

use super::plan::Plan;
use super::run::{Figures, Outcome, Row};
use super::spec::{self, MAX_COMBINATIONS, ParamValue, SweepError};
use super::{heatmap, table};
use crate::settings::Settings;
use crate::strategy::StrategyRegistry;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

fn ints(values: &[i64]) -> Vec<ParamValue> {
    values.iter().map(|i| ParamValue::Integer(*i)).collect()
}

fn defaults() -> Settings {
    Settings::load_from(None, &HashMap::new()).expect("the default settings load")
}

fn plan(text: &str) -> Result<Plan, SweepError> {
    let settings = defaults();
    Plan::new(spec::parse(text)?, &settings, &StrategyRegistry::builtin())
}

fn reason(e: SweepError) -> String {
    e.to_string()
}

#[test]
fn a_range_includes_its_end_and_steps_exactly() {
    let axes = spec::parse("fast=5..20:5,slow=20..60:10").unwrap();
    assert_eq!(axes.len(), 2);
    assert_eq!(
        (axes[0].strategy.as_deref(), axes[0].param.as_str()),
        (None, "fast")
    );
    assert_eq!(axes[0].values, ints(&[5, 10, 15, 20]));
    assert_eq!(axes[1].values, ints(&[20, 30, 40, 50, 60]));
    // An end off the grid is not reached; the step defaults to 1.
    assert_eq!(spec::parse("a=1..8:3").unwrap()[0].values, ints(&[1, 4, 7]));
    assert_eq!(spec::parse("a=3..5").unwrap()[0].values, ints(&[3, 4, 5]));
    assert_eq!(spec::parse("a=7..7:2").unwrap()[0].values, ints(&[7]));
}

#[test]
fn a_decimal_range_gives_exact_decimals() {
    let values = &spec::parse("threshold=0.0005..0.0015:0.0005").unwrap()[0].values;
    let text: Vec<String> = values.iter().map(ToString::to_string).collect();
    assert_eq!(text, ["0.0005", "0.001", "0.0015"]);
    assert_eq!(values[1].to_toml(), toml::Value::String("0.001".into()));
}

#[test]
fn a_list_keeps_its_order_and_types() {
    let axes = spec::parse("ema_cross_1.fast=8|3|5, mode = a|0.5").unwrap();
    assert_eq!(axes[0].strategy.as_deref(), Some("ema_cross_1"));
    assert_eq!(axes[0].name(), "ema_cross_1.fast");
    assert_eq!(axes[0].values, ints(&[8, 3, 5]));
    assert_eq!(
        axes[1].values,
        [
            ParamValue::Text("a".into()),
            ParamValue::Decimal(Decimal::from_str("0.5").unwrap())
        ]
    );
}

#[test]
fn bad_specs_are_refused_naming_the_part_and_why() {
    let cases = [
        ("", "empty"),
        ("fast", "`fast`: expected name=start..end:step"),
        (
            "fast=5..20:0",
            "`fast=5..20:0`: step must be above 0, got 0",
        ),
        ("fast=5..20:-5", "step must be above 0, got -5"),
        ("fast=20..5:5", "`fast=20..5:5`: end 5 is below start 20"),
        ("fast=a..5", "start \"a\" is not a number"),
        ("fast=1..5:x", "step \"x\" is not a number"),
        ("fast=1|1", "1 is listed twice"),
        ("fast=1||2", "empty value"),
        (
            "fast=1..2,fast=3..4",
            "`fast=3..4`: this parameter is already swept",
        ),
        ("fa st=1..2", "parameter name \"fa st\""),
        ("x.y.z=1", "parameter name \"y.z\""),
        ("fast=1..2,", "expected name=start..end:step"),
        ("a=0..20000", "more than 10000 values"),
    ];
    for (text, expected) in cases {
        let e = reason(spec::parse(text).expect_err(text));
        assert!(e.contains(expected), "{text:?}: {e}");
    }
}

#[test]
fn more_combinations_than_allowed_are_refused_with_their_count() {
    let e = spec::parse("a=1..100,b=1..100,c=1..2").unwrap_err();
    assert_eq!(
        e,
        SweepError::TooMany {
            count: "20000".into(),
            max: MAX_COMBINATIONS
        }
    );
    assert!(
        spec::parse("a=1..100,b=1..100").is_ok(),
        "exactly the maximum"
    );
}

#[test]
fn a_bare_name_means_the_one_enabled_strategy_that_sets_it() {
    let plan = plan("fast=5..20:5,slow=20..60:10").unwrap();
    let strategies: Vec<&str> = plan.axes.iter().map(|a| a.strategy.as_str()).collect();
    assert_eq!(strategies, ["ema_cross_1", "ema_cross_1"]);
    assert_eq!(plan.axes[0].label, "fast");
    let plan = super::plan::Plan::new(
        spec::parse("momentum_1.quantity=1|2").unwrap(),
        &defaults(),
        &StrategyRegistry::builtin(),
    )
    .unwrap();
    assert_eq!(plan.axes[0].strategy, "momentum_1");
    assert_eq!(plan.axes[0].label, "momentum_1.quantity");
}

#[test]
fn names_that_fit_several_strategies_or_none_are_refused() {
    let e = reason(plan("quantity=1|2").unwrap_err());
    assert!(
        e.contains("ambiguous") && e.contains("ema_cross_1.quantity, momentum_1.quantity"),
        "{e}"
    );
    let e = reason(plan("nope=1|2").unwrap_err());
    assert!(e.contains("no enabled strategy sets `nope`"), "{e}");
    let e = reason(plan("ghost.fast=1|2").unwrap_err());
    assert!(e.contains("no enabled strategy \"ghost\""), "{e}");
    let e = reason(plan("ema_cross_1.fsat=1|2").unwrap_err());
    assert!(
        e.contains("has no parameter `fsat`") && e.contains("fast"),
        "{e}"
    );
    let e = reason(plan("fast=1|2,ema_cross_1.fast=3").unwrap_err());
    assert!(e.contains("already swept"), "{e}");
}

#[test]
fn combinations_vary_the_last_parameter_fastest() {
    let plan = plan("fast=5|10,slow=20..40:10").unwrap();
    let combos = plan.combinations();
    let described: Vec<String> = combos.iter().map(|c| plan.describe(c)).collect();
    assert_eq!(
        described,
        [
            "fast=5 slow=20",
            "fast=5 slow=30",
            "fast=5 slow=40",
            "fast=10 slow=20",
            "fast=10 slow=30",
            "fast=10 slow=40"
        ]
    );
    let indices: Vec<usize> = combos.iter().map(|c| c.index).collect();
    assert_eq!(indices, [0, 1, 2, 3, 4, 5]);
}

#[test]
fn each_combination_gets_its_values_and_an_invalid_one_is_refused() {
    let plan = plan("fast=10|30,slow=20").unwrap();
    let combos = plan.combinations();
    let registry = StrategyRegistry::builtin();
    let base = defaults();
    let ok = plan.settings_for(&base, &combos[0], &registry).unwrap();
    let params = ok.strategies["ema_cross_1"].params.values();
    assert_eq!(params["fast"], toml::Value::Integer(10));
    assert_eq!(params["slow"], toml::Value::Integer(20));
    assert_eq!(
        params["quantity"],
        base.strategies["ema_cross_1"].params.values()["quantity"]
    );
    assert_eq!(ok.strategies["momentum_1"], base.strategies["momentum_1"]);
    let refused = plan.settings_for(&base, &combos[1], &registry).unwrap_err();
    assert!(
        refused.starts_with("strategies.ema_cross_1.params"),
        "{refused}"
    );
    assert!(refused.contains("slow"), "{refused}");
}

fn figures(net: i64) -> Figures {
    Figures {
        net_pnl: Decimal::from(net),
        starting_equity: Decimal::from(1000),
        max_drawdown: Decimal::from(5),
        fills: 4,
        win_rate: Some(Decimal::from_str("0.5").unwrap()),
        sharpe: None,
        charges: Decimal::from_str("1.25").unwrap(),
    }
}

fn rows(plan: &Plan, outcomes: Vec<Outcome>) -> Vec<Row> {
    plan.combinations()
        .into_iter()
        .zip(outcomes)
        .map(|(combination, outcome)| Row {
            combination,
            outcome,
            elapsed: Duration::from_secs(1),
        })
        .collect()
}

#[test]
fn the_table_ranks_by_net_pnl_then_spec_order_with_refusals_last() {
    let plan = plan("fast=5|10,slow=20|30").unwrap();
    let rows = rows(
        &plan,
        vec![
            Outcome::Ran(figures(10)),
            Outcome::Refused("strategies.x: \"bad\", really".into()),
            Outcome::Ran(figures(30)),
            Outcome::Ran(figures(10)),
        ],
    );
    let csv = table::csv(&plan, &rows);
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "rank,fast,slow,status,net_pnl,return_pct,max_drawdown,fills,win_rate,sharpe,charges,note"
    );
    assert_eq!(lines[1], "1,10,20,ok,30,3.0000,5,4,0.5,,1.25,");
    assert_eq!(lines[2], "2,5,20,ok,10,1.0000,5,4,0.5,,1.25,");
    assert_eq!(lines[3], "3,10,30,ok,10,1.0000,5,4,0.5,,1.25,");
    assert_eq!(
        lines[4],
        ",5,30,refused,,,,,,,,\"strategies.x: \"\"bad\"\", really\""
    );
    assert_eq!(lines.len(), 6, "a row per combination and the final CRLF");
    let md = table::markdown(&plan, &rows, "t");
    assert!(md.contains("| 1 | 10 | 20 | ok | 30 |"), "{md}");
}

#[test]
fn the_heatmap_has_a_cell_per_combination_with_axes_named() {
    let plan = plan("fast=5|10,slow=20|30").unwrap();
    let rows = rows(
        &plan,
        vec![
            Outcome::Ran(figures(-10)),
            Outcome::Refused("no".into()),
            Outcome::Ran(figures(30)),
            Outcome::Ran(figures(0)),
        ],
    );
    let svg = heatmap::render(&plan, &rows).unwrap();
    assert_eq!(svg.matches("<rect x=").count(), 4);
    for label in [
        ">-10<",
        ">refused<",
        ">30<",
        ">0<",
        ">fast<",
        ">slow<",
        ">5<",
        ">20<",
    ] {
        assert!(svg.contains(label), "{label} missing: {svg}");
    }
    // The largest gain is deepest green, the loss reddish, zero white.
    assert!(svg.contains("fill=\"#48ad73\""), "{svg}");
    assert!(svg.contains("fill=\"#ffffff\" stroke"), "{svg}");
    // Nothing external: the only URL is the SVG namespace.
    assert_eq!(svg.matches("://").count(), 1, "{svg}");
    let one = plan_one();
    assert!(
        heatmap::render(&one, &[]).is_none(),
        "one parameter: no heatmap"
    );
}

fn plan_one() -> Plan {
    plan("fast=5|10").unwrap()
}
