package io.quarry.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The configuration table of docs/configuration.md is checked against the properties records (every
 * key, no stale one), the environment variable naming rule and the defaults in application.yaml.
 */
class ConfigurationReferenceTest {

  private static final Pattern ROW =
      Pattern.compile("^\\| `([^`]+)` \\| `([^`]+)` \\| (.+?) \\| (.+) \\|$");

  /**
   * Stands for a map key in the table: {@code <stream>} in quarry.streams, {@code <job>} in
   * quarry.jobs.
   */
  private static final Map<String, String> EXAMPLE_KEYS =
      Map.of("<stream>", "posts", "<job>", "clean-up-sent-email");

  /** The document that holds the table, between the two markers. */
  static final Path REFERENCE = Path.of("docs", "configuration.md");

  static Map<String, String[]> rows = new TreeMap<>();
  static Map<String, Object> yaml;

  @BeforeAll
  static void read() throws IOException {
    String text = Files.readString(REFERENCE);
    String table =
        text.substring(
            text.indexOf("<!-- configuration:start -->"),
            text.indexOf("<!-- configuration:end -->"));
    for (String line : table.split("\n")) {
      Matcher row = ROW.matcher(line.trim());
      if (row.matches()) {
        rows.put(row.group(1), new String[] {row.group(2), row.group(3), row.group(4)});
      }
    }
    try (InputStream in =
        ConfigurationReferenceTest.class.getResourceAsStream("/application.yaml")) {
      yaml = new Yaml().load(in);
    }
  }

  @Test
  void theTableListsExactlyTheKeysOfTheProperties() {
    TreeSet<String> keys = new TreeSet<>();
    collect("quarry", QuarryProperties.class, keys);
    assertThat(new TreeSet<>(rows.keySet()))
        .as(REFERENCE + " configuration table (add missing rows, remove stale ones)")
        .isEqualTo(keys);
  }

  @Test
  void eachRowNamesItsEnvironmentVariable() {
    rows.forEach(
        (key, row) ->
            assertThat(row[0])
                .as("environment variable of " + key)
                .isEqualTo(key.toUpperCase(Locale.ROOT).replaceAll("[.\\-]", "_")));
  }

  @Test
  void eachDefaultIsTheOneInApplicationYaml() {
    rows.forEach(
        (key, row) -> {
          String example = key;
          for (Map.Entry<String, String> placeholder : EXAMPLE_KEYS.entrySet()) {
            example = example.replace(placeholder.getKey(), placeholder.getValue());
          }
          Object value = lookup(example);
          String cell = row[1];
          if (value == null) {
            assertThat(cell).as("default of " + key).startsWith("*(none");
          } else if ("".equals(value)) {
            assertThat(cell).as("default of " + key).isEqualTo("*(empty)*");
          } else {
            String expected =
                value instanceof List<?> list
                    ? String.join(",", list.stream().map(String::valueOf).toList())
                    : String.valueOf(value);
            assertThat(cell).as("default of " + key).isEqualTo("`" + expected + "`");
          }
        });
  }

  private static void collect(String prefix, Class<?> type, TreeSet<String> keys) {
    for (RecordComponent component : type.getRecordComponents()) {
      String key = prefix + "." + kebab(component.getName());
      Class<?> componentType = component.getType();
      if (componentType.isRecord()) {
        collect(key, componentType, keys);
      } else if (Map.class.isAssignableFrom(componentType)) {
        Type valueType =
            ((ParameterizedType) component.getGenericType()).getActualTypeArguments()[1];
        String placeholder = "<" + component.getName().replaceAll("s$", "") + ">";
        collect(key + "." + placeholder, (Class<?>) valueType, keys);
      } else {
        keys.add(key);
      }
    }
  }

  private static String kebab(String camel) {
    return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
  }

  @SuppressWarnings("unchecked")
  private static Object lookup(String key) {
    Object current = yaml;
    for (String part : key.split("\\.")) {
      if (!(current instanceof Map<?, ?> map) || !map.containsKey(part)) {
        return null;
      }
      current = ((Map<String, Object>) map).get(part);
    }
    return current;
  }
}
