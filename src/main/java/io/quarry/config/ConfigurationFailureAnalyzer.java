package io.quarry.config;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.context.properties.bind.validation.BindValidationException;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.core.Ordered;
import org.springframework.validation.FieldError;
import org.springframework.validation.ObjectError;

/**
 * Turns a refused {@code quarry.*} value into one line per key that says what is wrong and how to
 * override it, without echoing secrets (Spring's own analyzer prints rejected values).
 */
public class ConfigurationFailureAnalyzer extends AbstractFailureAnalyzer<Exception>
    implements Ordered {

  private static final Pattern LIST_ENTRY = Pattern.compile("(.+)\\[(\\d+)]");

  @Override
  public int getOrder() {
    return Ordered.HIGHEST_PRECEDENCE;
  }

  @Override
  protected FailureAnalysis analyze(Throwable rootFailure, Exception cause) {
    InvalidConfigurationException invalid =
        findCause(rootFailure, InvalidConfigurationException.class);
    if (invalid != null) {
      return analysis(line(invalid.key(), invalid.reason()));
    }
    BindException bind = findCause(rootFailure, BindException.class);
    if (bind == null || !bind.getName().toString().startsWith("quarry")) {
      return null;
    }
    String prefix = bind.getName().toString();
    BindValidationException validation = findCause(rootFailure, BindValidationException.class);
    if (validation != null) {
      return analysis(
          validation.getValidationErrors().getAllErrors().stream()
              .map(error -> line(keyOf(prefix, error), error.getDefaultMessage()))
              .sorted()
              .collect(Collectors.joining("\n")));
    }
    String key = bind.getProperty() != null ? bind.getProperty().getName().toString() : prefix;
    return analysis(line(key, "cannot be read: " + rootMessage(bind)));
  }

  private static String keyOf(String prefix, ObjectError error) {
    return error instanceof FieldError field ? prefix + "." + kebab(field.getField()) : prefix;
  }

  private static String kebab(String camel) {
    return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
  }

  private static String line(String key, String reason) {
    Matcher entry = LIST_ENTRY.matcher(key);
    if (entry.matches()) {
      // A list is set from the environment as one comma-separated variable, not one per entry.
      return "  "
          + key
          + " "
          + reason
          + "  (environment variable "
          + variable(entry.group(1))
          + ", its entry "
          + entry.group(2)
          + " counted from 0 in the comma-separated list)";
    }
    return "  " + key + " " + reason + "  (environment variable " + variable(key) + ")";
  }

  private static String variable(String key) {
    return key.toUpperCase(Locale.ROOT).replaceAll("[.\\[\\-]", "_").replace("]", "");
  }

  private static String rootMessage(Throwable t) {
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getMessage();
  }

  private static FailureAnalysis analysis(String lines) {
    return new FailureAnalysis(
        "Quarry's configuration is invalid:\n" + lines,
        "Correct the value in application.yaml or set the environment variable named above.",
        null);
  }
}
