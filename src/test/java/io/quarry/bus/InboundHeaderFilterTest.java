package io.quarry.bus;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.apache.camel.Exchange;
import org.apache.camel.component.springrabbit.DefaultMessagePropertiesConverter;
import org.apache.camel.component.springrabbit.SpringRabbitMQConstants;
import org.apache.camel.component.springrabbit.SpringRabbitMQHeaderFilterStrategy;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;
import org.springframework.amqp.core.MessageProperties;

/**
 * What every Quarry consumer makes of an AMQP message's headers: camel-spring-rabbitmq's own header
 * filter strategy, which the component gives every endpoint, drops each {@code Camel*} header in
 * any case, so a message cannot steer a component of the route; the other headers and the message's
 * own properties arrive. Quarry relies on it instead of stripping headers in each route; this test
 * fails if a Camel upgrade changes it.
 */
class InboundHeaderFilterTest {

  @Test
  void dropsEveryCamelHeaderWhateverItsCaseAndKeepsTheOthers() throws Exception {
    try (DefaultCamelContext camel = new DefaultCamelContext()) {
      Exchange exchange = new DefaultExchange(camel);
      MessageProperties properties = new MessageProperties();
      properties.setHeader("CamelSpringRabbitmqContentEncoding", "gzip");
      properties.setHeader("camelFileName", "/etc/passwd");
      properties.setHeader("CAMELHTTPURI", "http://evil");
      properties.setHeader("quarry-attempt", 2);
      properties.setHeader("x-camel", "not a prefix");
      properties.setContentEncoding("identity");
      DefaultMessagePropertiesConverter converter = new DefaultMessagePropertiesConverter();
      converter.setHeaderFilterStrategy(new SpringRabbitMQHeaderFilterStrategy());

      Map<String, Object> headers = converter.fromMessageProperties(properties, exchange);

      assertThat(headers)
          .doesNotContainKeys("camelFileName", "CAMELHTTPURI")
          .containsEntry("quarry-attempt", 2)
          .containsEntry("x-camel", "not a prefix")
          // the property, not the header the message carried under the same name
          .containsEntry(SpringRabbitMQConstants.CONTENT_ENCODING, "identity");
    }
  }
}
