//! The Prometheus 0.0.4 text format, from the OpenMetrics text the
//! registry encodes.

/// Converts OpenMetrics text to the Prometheus 0.0.4 text format.
pub fn to_prometheus_text(om: &str) -> String {
    let mut counters: Vec<String> = Vec::new();
    for l in om.lines() {
        if let Some(rest) = l.strip_prefix("# TYPE ")
            && let Some(name) = rest.strip_suffix(" counter")
        {
            counters.push(name.to_string());
        }
    }
    let mut out = String::with_capacity(om.len());
    for l in om.lines() {
        if l == "# EOF" || l.starts_with("# UNIT ") {
            continue;
        }
        let fixed = ["# TYPE ", "# HELP "].iter().find_map(|p| {
            let rest = l.strip_prefix(p)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .iter()
                .any(|c| c == name)
                .then(|| format!("{p}{name}_total {tail}"))
        });
        match fixed {
            Some(f) => out.push_str(&f),
            None if l.starts_with("# TYPE ") && l.ends_with(" info") => {
                out.push_str(&l.replace(" info", " gauge"));
            }
            None => out.push_str(l),
        }
        out.push('\n');
    }
    out
}
