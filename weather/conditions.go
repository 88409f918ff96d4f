package weather

// Condition is what a WMO weather code means to a user: a key naming its
// localized text (weather_cond_<Key>) and an emoji. Codes are folded into a
// few conditions because "slight/moderate/dense drizzle" is more detail
// than a chat answer needs, and every key must be translated.
type Condition struct {
	Key   string
	Emoji string
}

// MessageID is the catalog ID of the condition's localized text.
func (c Condition) MessageID() string { return "weather_cond_" + c.Key }

// Condition keys. ConditionUnknown is what an unlisted code maps to, so a
// new code from the service shows a neutral text instead of breaking.
const (
	ConditionClear            = "clear"
	ConditionMainlyClear      = "mainly_clear"
	ConditionPartlyCloudy     = "partly_cloudy"
	ConditionOvercast         = "overcast"
	ConditionFog              = "fog"
	ConditionDrizzle          = "drizzle"
	ConditionFreezingDrizzle  = "freezing_drizzle"
	ConditionRain             = "rain"
	ConditionFreezingRain     = "freezing_rain"
	ConditionSnow             = "snow"
	ConditionSnowGrains       = "snow_grains"
	ConditionRainShowers      = "rain_showers"
	ConditionSnowShowers      = "snow_showers"
	ConditionThunderstorm     = "thunderstorm"
	ConditionThunderstormHail = "thunderstorm_hail"
	ConditionUnknown          = "unknown"
)

// ConditionFor maps a WMO weather interpretation code (WW, as used by
// Open-Meteo's weather_code) to its Condition. The switch is the table: it
// keeps the mapping constant without package-level state.
func ConditionFor(code int) Condition {
	switch code {
	case 0:
		return Condition{ConditionClear, "☀️"}
	case 1:
		return Condition{ConditionMainlyClear, "🌤️"}
	case 2:
		return Condition{ConditionPartlyCloudy, "⛅"}
	case 3:
		return Condition{ConditionOvercast, "☁️"}
	case 45, 48: // fog, depositing rime fog
		return Condition{ConditionFog, "🌫️"}
	case 51, 53, 55: // drizzle: light, moderate, dense
		return Condition{ConditionDrizzle, "🌦️"}
	case 56, 57:
		return Condition{ConditionFreezingDrizzle, "🌧️"}
	case 61, 63, 65: // rain: slight, moderate, heavy
		return Condition{ConditionRain, "🌧️"}
	case 66, 67:
		return Condition{ConditionFreezingRain, "🧊"}
	case 71, 73, 75: // snow fall: slight, moderate, heavy
		return Condition{ConditionSnow, "❄️"}
	case 77:
		return Condition{ConditionSnowGrains, "🌨️"}
	case 80, 81, 82: // rain showers: slight, moderate, violent
		return Condition{ConditionRainShowers, "🌦️"}
	case 85, 86:
		return Condition{ConditionSnowShowers, "🌨️"}
	case 95:
		return Condition{ConditionThunderstorm, "⛈️"}
	case 96, 99: // thunderstorm with slight, heavy hail
		return Condition{ConditionThunderstormHail, "⛈️"}
	default:
		return Condition{ConditionUnknown, "🌡️"}
	}
}

// ConditionKeys lists every key ConditionFor can return, ConditionUnknown
// last, so catalogs can be checked for completeness.
func ConditionKeys() []string {
	return []string{
		ConditionClear, ConditionMainlyClear, ConditionPartlyCloudy, ConditionOvercast,
		ConditionFog, ConditionDrizzle, ConditionFreezingDrizzle, ConditionRain,
		ConditionFreezingRain, ConditionSnow, ConditionSnowGrains, ConditionRainShowers,
		ConditionSnowShowers, ConditionThunderstorm, ConditionThunderstormHail,
		ConditionUnknown,
	}
}
