package io.quarry.monitoring;

import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Just enough PromQL reading to list the metric and function names an expression uses, so the
 * monitoring tests can hold them against known lists. Not a parser: promtool checks the syntax of
 * the rules; this only has to find names reliably in the expressions we write.
 */
final class PromQl {

  /**
   * Names an expression uses: metrics (series names) and functions or aggregations (a name followed
   * by an opening parenthesis; a metric never is).
   */
  record Names(Set<String> metrics, Set<String> functions) {}

  private static final Pattern STRING =
      Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`");
  private static final Pattern RANGE = Pattern.compile("\\[[^\\]]*\\]");
  private static final Pattern LABEL_LIST =
      Pattern.compile("\\b(?:by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
  private static final Pattern MATCHERS = Pattern.compile("\\{[^}]*\\}");
  private static final Pattern IDENTIFIER =
      Pattern.compile("(?<![\\w.:$])([A-Za-z_:][\\w:]*)(?![\\w:])(\\s*\\()?");
  private static final Set<String> KEYWORDS =
      Set.of(
          "and",
          "or",
          "unless",
          "bool",
          "offset",
          "by",
          "without",
          "on",
          "ignoring",
          "group_left",
          "group_right",
          "inf",
          "nan",
          "atan2");

  private PromQl() {}

  static Names names(String expression) {
    String rest = STRING.matcher(expression).replaceAll(" ");
    rest = RANGE.matcher(rest).replaceAll(" ");
    rest = LABEL_LIST.matcher(rest).replaceAll(" ");
    rest = MATCHERS.matcher(rest).replaceAll(" ");
    Set<String> metrics = new LinkedHashSet<>();
    Set<String> functions = new LinkedHashSet<>();
    Matcher matcher = IDENTIFIER.matcher(rest);
    while (matcher.find()) {
      String name = matcher.group(1);
      if (KEYWORDS.contains(name.toLowerCase(Locale.ROOT))) {
        continue;
      }
      if (matcher.group(2) != null) {
        functions.add(name);
      } else {
        metrics.add(name);
      }
    }
    return new Names(metrics, functions);
  }
}
