//! A count as written (`retries: 2`): any scalar, so that `-2` or `two` is `validate`'s located
//! error in plain words, while the schema still says what it takes.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};

use super::values::Scalar;

#[derive(Debug, Clone)]
pub struct Count(pub Scalar);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Scalar::deserialize(d).map(Count)
    }
}

impl JsonSchema for Count {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Count".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "integer", "minimum": 0 })
    }
}
