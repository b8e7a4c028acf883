"""The legacy ``graph`` panel's settings as Grafana's migration to ``timeseries`` reads them
(``graphToTimeseriesOptions``): ``fill``/``stack``/``bars``/``lines``/``linewidth`` become
``fieldConfig.defaults.custom``; ``aliasColors`` and ``seriesOverrides`` (``alias`` a name or a
``/regex/``: ``color``, ``transform: negative-Y``, ``stack``, ``fill``, ``legend``) become field
overrides, so the report draws a graph as Grafana 8+ draws it.
"""

from __future__ import annotations

from typing import Any, Mapping


def custom_of(raw: Mapping[str, Any]) -> dict[str, Any]:
    if raw.get("type") != "graph":
        return {}
    fill = raw.get("fill", 1)
    bars, lines = bool(raw.get("bars")), raw.get("lines", True) is not False
    custom: dict[str, Any] = {"fillOpacity": max(0.0, min(10.0, float(fill))) * 10 if isinstance(fill, (int, float)) else 10,
                              "lineWidth": raw.get("linewidth", 1) if isinstance(raw.get("linewidth"), (int, float)) else 1,
                              "drawStyle": "bars" if bars and not lines else "line"}
    if raw.get("stack"):
        custom["stacking"] = {"mode": "percent" if raw.get("percentage") else "normal", "group": "A"}
    return custom


def _matcher(alias: str) -> dict[str, Any]:
    if len(alias) > 1 and alias.startswith("/") and alias.endswith("/"):
        return {"id": "byRegexp", "options": alias}
    return {"id": "byName", "options": alias}


def overrides_of(raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    if raw.get("type") != "graph":
        return []
    out: list[dict[str, Any]] = []
    colors = raw.get("aliasColors")
    for name, color in (colors.items() if isinstance(colors, dict) else ()):
        if isinstance(color, str) and color:
            out.append({"matcher": {"id": "byName", "options": str(name)},
                        "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": color}}]})
    for so in raw.get("seriesOverrides") or []:
        if not isinstance(so, dict) or not isinstance(so.get("alias"), str) or not so["alias"]:
            continue
        props: list[dict[str, Any]] = []
        if isinstance(so.get("color"), str) and so["color"]:
            props.append({"id": "color", "value": {"mode": "fixed", "fixedColor": so["color"]}})
        if so.get("transform") == "negative-Y":
            props.append({"id": "custom.transform", "value": "negative-Y"})
        if so.get("legend") is False or so.get("hiddenSeries") is True:
            props.append({"id": "custom.hideFrom", "value": {"legend": True, "tooltip": False, "viz": bool(so.get("hiddenSeries"))}})
        if props:
            out.append({"matcher": _matcher(so["alias"]), "properties": props})
    return out


def mappings_of(raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A ``singlestat``'s ``valueMaps`` (``mappingType`` 1) or ``rangeMaps`` (2) as the value
    mappings Grafana's migration to ``stat`` makes of them (``convertOldAngularValueMappings``):
    ``"null"`` becomes a special null mapping, the others value or range mappings."""
    if raw.get("type") != "singlestat":
        return []
    values, ranges = raw.get("valueMaps"), raw.get("rangeMaps")
    values = [m for m in values if isinstance(m, dict)] if isinstance(values, list) else []
    ranges = [m for m in ranges if isinstance(m, dict)] if isinstance(ranges, list) else []
    kind = raw.get("mappingType") or (1 if values else 2 if ranges else None)
    out: list[dict[str, Any]] = []
    if kind == 1:
        for m in values:
            result = {"text": str(m.get("text", ""))}
            if str(m.get("value")) == "null":
                out.append({"type": "special", "options": {"match": "null", "result": result}})
            elif m.get("value") is not None:
                out.append({"type": "value", "options": {str(m["value"]): result}})
    elif kind == 2:
        for m in ranges:
            result = {"text": str(m.get("text", ""))}
            if str(m.get("from")) == "null" and str(m.get("to")) == "null":
                out.append({"type": "special", "options": {"match": "null", "result": result}})
            else:
                out.append({"type": "range", "options": {"from": m.get("from"), "to": m.get("to"), "result": result}})
    return out


def stat_options_of(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A ``singlestat``'s colouring and sparkline as Grafana's migration to ``stat`` sets them:
    ``colorBackground`` -> colorMode background, ``colorValue`` -> value, else none;
    ``sparkline.show`` -> graphMode area, else none."""
    if raw.get("type") != "singlestat":
        return {}
    mode = "background" if raw.get("colorBackground") else "value" if raw.get("colorValue") else "none"
    spark = raw.get("sparkline")
    return {"colorMode": mode, "graphMode": "area" if isinstance(spark, dict) and spark.get("show") else "none"}
