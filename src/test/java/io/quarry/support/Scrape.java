package io.quarry.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One sample of {@code /actuator/prometheus}, read as the viewer. */
public final class Scrape {

  private Scrape() {}

  /** The value of {@code name} whose {@code label} is {@code value}; fails if there is none. */
  public static double sample(int port, String name, String label, String value) {
    String scrape =
        new Http(port).get("/actuator/prometheus", "viewer", "test-viewer-password").body();
    Matcher sample =
        Pattern.compile(
                "^"
                    + Pattern.quote(name)
                    + "\\{[^}]*"
                    + Pattern.quote(label + "=\"" + value + "\"")
                    + "[^}]*\\} (\\S+)$",
                Pattern.MULTILINE)
            .matcher(scrape);
    assertThat(sample.find()).as("%s{%s=\"%s\"} in the scrape", name, label, value).isTrue();
    return Double.parseDouble(sample.group(1));
  }
}
