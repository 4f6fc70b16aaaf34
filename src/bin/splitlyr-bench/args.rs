//! Command-line arguments: `--name value` pairs and bare `--flags`.

use std::collections::HashMap;
use std::str::FromStr;

use splitlyr::configuration::get_configuration;

use crate::{BoxError, Result};

pub(crate) struct Args {
    pub(crate) values: HashMap<String, String>,
    pub(crate) flags: Vec<String>,
}

impl Args {
    const FLAGS: [&'static str; 4] = ["drop", "json", "concentrate", "legacy"];

    pub(crate) fn parse(raw: &[String]) -> Result<Self> {
        let mut values = HashMap::new();
        let mut flags = Vec::new();
        let mut it = raw.iter();
        while let Some(arg) = it.next() {
            let name = arg
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {arg:?}"))?;
            if let Some((k, v)) = name.split_once('=') {
                values.insert(k.to_string(), v.to_string());
            } else if Self::FLAGS.contains(&name) {
                flags.push(name.to_string());
            } else {
                let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
                values.insert(name.to_string(), value.clone());
            }
        }
        Ok(Self { values, flags })
    }

    pub(crate) fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    pub(crate) fn required(&self, name: &str) -> Result<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| format!("--{name} is required").into())
    }

    pub(crate) fn get<T: FromStr>(&self, name: &str) -> Result<Option<T>>
    where
        T::Err: std::fmt::Display,
    {
        self.values
            .get(name)
            .map(|v| {
                v.parse::<T>()
                    .map_err(|e| BoxError::from(format!("--{name} {v:?}: {e}")))
            })
            .transpose()
    }

    pub(crate) fn get_or<T: FromStr>(&self, name: &str, default: T) -> Result<T>
    where
        T::Err: std::fmt::Display,
    {
        Ok(self.get(name)?.unwrap_or(default))
    }
}

/// `--name` if given, else `auth.bcrypt_cost` of the configuration the server would load.
pub(crate) fn bcrypt_cost(args: &Args, name: &str) -> Result<u32> {
    if let Some(cost) = args.get::<u32>(name)? {
        return Ok(cost);
    }
    get_configuration()
        .map(|s| s.auth.bcrypt_cost)
        .map_err(|e| format!("pass --{name} or a loadable configuration: {e}").into())
}
