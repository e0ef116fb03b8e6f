//! `--shard auto`: which slice of the cases this CI job runs, read from the CI
//! system's own parallelism variables.

/// Where a shard came from, for the run's first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    /// 1-based shard number and the number of shards.
    pub shard: (u32, u32),
    /// The variables it was read from, e.g. `CI_NODE_INDEX/CI_NODE_TOTAL (GitLab CI)`.
    pub from: String,
}

/// The CI systems whose variables `--shard auto` reads, in this order: (what,
/// index variable, whether the index counts from 0, total variable).
/// GitHub Actions has no such variables: its matrix index is read only when the
/// workflow exports it as `OIDC_CONFORM_SHARD_INDEX` (e.g. from
/// `strategy.job-index`) with `OIDC_CONFORM_SHARD_TOTAL`; a Kubernetes Indexed
/// Job gives the index and the total comes from `OIDC_CONFORM_SHARD_TOTAL`.
const SYSTEMS: &[(&str, &str, bool, &str)] = &[
    ("set for oidc-conform", "OIDC_CONFORM_SHARD_INDEX", true, "OIDC_CONFORM_SHARD_TOTAL"),
    ("GitLab CI", "CI_NODE_INDEX", false, "CI_NODE_TOTAL"),
    ("Buildkite", "BUILDKITE_PARALLEL_JOB", true, "BUILDKITE_PARALLEL_JOB_COUNT"),
    ("CircleCI", "CIRCLE_NODE_INDEX", true, "CIRCLE_NODE_TOTAL"),
    ("a Kubernetes Indexed Job", "JOB_COMPLETION_INDEX", true, "OIDC_CONFORM_SHARD_TOTAL"),
];

/// The shard of this job from `var` (the environment, in a run). An error
/// names the variable that is wrong, or says that none is set.
pub fn detect(var: impl Fn(&str) -> Option<String>) -> Result<Detected, String> {
    for (what, index_var, from_zero, total_var) in SYSTEMS {
        let Some(index) = var(index_var).filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        let Some(total) = var(total_var).filter(|v| !v.trim().is_empty()) else {
            return Err(format!(
                "--shard auto: `{index_var}` is set ({what}) but `{total_var}` is not: set it to the number of shards"
            ));
        };
        let number = |name: &str, v: &str| -> Result<u32, String> {
            v.trim()
                .parse::<u32>()
                .map_err(|_| format!("--shard auto: `{name}` is `{}`, not a whole number", v.escape_debug()))
        };
        let (index, total) = (number(index_var, &index)?, number(total_var, &total)?);
        let k = if *from_zero { index.checked_add(1) } else { Some(index) };
        let base = if *from_zero { "0" } else { "1" };
        match k {
            Some(k) if k >= 1 && total >= 1 && k <= total => {
                return Ok(Detected {
                    shard: (k, total),
                    from: format!("{index_var}/{total_var} ({what})"),
                });
            }
            _ => {
                return Err(format!(
                    "--shard auto: `{index_var}` = {index} is not a shard of `{total_var}` = {total} (it counts from {base})"
                ));
            }
        }
    }
    Err(format!(
        "--shard auto: no CI parallelism variables are set; it reads {} — or write `--shard K/N`",
        SYSTEMS
            .iter()
            .map(|(what, i, _, t)| format!("{i} and {t} ({what})"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// `--shard`: a fixed slice, or `auto` (read from the CI's variables at run time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardArg {
    Fixed(u32, u32),
    Auto,
}

pub fn parse(s: &str) -> Result<ShardArg, String> {
    if s.trim().eq_ignore_ascii_case("auto") {
        return Ok(ShardArg::Auto);
    }
    parse_fixed(s).map(|(k, n)| ShardArg::Fixed(k, n))
}

pub fn parse_fixed(s: &str) -> Result<(u32, u32), String> {
    let err = || format!("`{s}` is not a shard: write K/N with 1 <= K <= N, e.g. `2/3`, or `auto`");
    let (k, n) = s.split_once('/').ok_or_else(err)?;
    let (k, n): (u32, u32) = (k.trim().parse().map_err(|_| err())?, n.trim().parse().map_err(|_| err())?);
    if k == 0 || n == 0 || k > n {
        return Err(err());
    }
    Ok((k, n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn each_ci_system_gives_its_shard() {
        let d = detect(env(&[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "3")])).unwrap();
        assert_eq!(d.shard, (2, 3));
        assert!(d.from.contains("GitLab"), "{}", d.from);
        assert_eq!(
            detect(env(&[("BUILDKITE_PARALLEL_JOB", "0"), ("BUILDKITE_PARALLEL_JOB_COUNT", "4")]))
                .unwrap()
                .shard,
            (1, 4)
        );
        assert_eq!(
            detect(env(&[("CIRCLE_NODE_INDEX", "3"), ("CIRCLE_NODE_TOTAL", "4")]))
                .unwrap()
                .shard,
            (4, 4)
        );
        assert_eq!(
            detect(env(&[("JOB_COMPLETION_INDEX", "4"), ("OIDC_CONFORM_SHARD_TOTAL", "5")]))
                .unwrap()
                .shard,
            (5, 5)
        );
        // GitHub Actions: only when the workflow exports the index.
        assert_eq!(
            detect(env(&[("OIDC_CONFORM_SHARD_INDEX", "0"), ("OIDC_CONFORM_SHARD_TOTAL", "2")]))
                .unwrap()
                .shard,
            (1, 2)
        );
        // The explicit variables win over a CI system's.
        let d = detect(env(&[
            ("OIDC_CONFORM_SHARD_INDEX", "1"),
            ("OIDC_CONFORM_SHARD_TOTAL", "2"),
            ("CI_NODE_INDEX", "1"),
            ("CI_NODE_TOTAL", "5"),
        ]))
        .unwrap();
        assert_eq!(d.shard, (2, 2));
    }

    #[test]
    fn wrong_or_missing_variables_are_named() {
        let e = detect(env(&[])).unwrap_err();
        assert!(
            e.contains("no CI parallelism variables") && e.contains("CI_NODE_INDEX") && e.contains("--shard K/N"),
            "{e}"
        );
        let e = detect(env(&[("CI_NODE_INDEX", "4"), ("CI_NODE_TOTAL", "3")])).unwrap_err();
        assert!(e.contains("`CI_NODE_INDEX` = 4") && e.contains("counts from 1"), "{e}");
        let e = detect(env(&[("CI_NODE_INDEX", "0"), ("CI_NODE_TOTAL", "3")])).unwrap_err();
        assert!(e.contains("counts from 1"), "{e}");
        let e = detect(env(&[("CIRCLE_NODE_INDEX", "x"), ("CIRCLE_NODE_TOTAL", "3")])).unwrap_err();
        assert!(e.contains("`CIRCLE_NODE_INDEX` is `x`"), "{e}");
        let e = detect(env(&[("JOB_COMPLETION_INDEX", "1")])).unwrap_err();
        assert!(e.contains("`OIDC_CONFORM_SHARD_TOTAL` is not"), "{e}");
        let e = detect(env(&[("BUILDKITE_PARALLEL_JOB", "2"), ("BUILDKITE_PARALLEL_JOB_COUNT", "2")])).unwrap_err();
        assert!(e.contains("counts from 0"), "{e}");
    }
}
