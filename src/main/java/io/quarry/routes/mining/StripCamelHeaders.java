package io.quarry.routes.mining;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

/**
 * Removes every inbound header a Camel component could act on, as {@code removeHeaders("Camel*")}
 * does (case-insensitive prefix {@code Camel}; the pattern read as a regular expression adds only
 * the name {@code came}), without its cost: Camel's pattern matching compiles the pattern as a
 * regular expression again for every header that does not start with {@code Camel}, i.e. for every
 * AMQP header of every message.
 */
public final class StripCamelHeaders implements Processor {

  public static final StripCamelHeaders INSTANCE = new StripCamelHeaders();

  private StripCamelHeaders() {}

  @Override
  public void process(Exchange exchange) {
    Message message = exchange.getMessage();
    if (!message.hasHeaders()) {
      return;
    }
    List<String> names = null;
    for (String name : message.getHeaders().keySet()) {
      if (isCamelHeader(name)) {
        if (names == null) {
          names = new ArrayList<>();
        }
        names.add(name);
      }
    }
    if (names != null) {
      names.forEach(message::removeHeader);
    }
  }

  static boolean isCamelHeader(String name) {
    String lower = name.toLowerCase(Locale.ENGLISH);
    return lower.startsWith("camel") || lower.equals("came");
  }
}
