package io.quarry.routes;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarry.routes.mining.StripCamelHeaders;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;

/** The inbound header filter removes what {@code removeHeaders("Camel*")} removes, nothing else. */
class StripCamelHeadersTest {

  @Test
  void removesEveryCamelHeaderWhateverItsCaseAndKeepsTheOthers() throws Exception {
    try (DefaultCamelContext camel = new DefaultCamelContext()) {
      Exchange exchange = new DefaultExchange(camel);
      var message = exchange.getMessage();
      message.setHeader("CamelSpringRabbitmqExchangeName", "elsewhere");
      message.setHeader("camelFileName", "/etc/passwd");
      message.setHeader("CAMELHTTPURI", "http://evil");
      message.setHeader("Came", "regex match of the old pattern");
      message.setHeader("messageId", "m-1");
      message.setHeader("quarry-attempt", 2);
      message.setHeader("x-camel", "not a prefix");

      StripCamelHeaders.INSTANCE.process(exchange);

      assertThat(message.getHeaders()).containsOnlyKeys("messageId", "quarry-attempt", "x-camel");
    }
  }

  @Test
  void aMessageWithoutHeadersIsLeftAlone() throws Exception {
    try (DefaultCamelContext camel = new DefaultCamelContext()) {
      Exchange exchange = new DefaultExchange(camel);
      StripCamelHeaders.INSTANCE.process(exchange);
      assertThat(exchange.getMessage().getHeaders()).isEmpty();
    }
  }
}
