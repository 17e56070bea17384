package io.quarry.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarry.config.QuarryProperties.Rabbitmq;
import io.quarry.config.QuarryProperties.Rabbitmq.QueueTypes;
import jakarta.validation.ConstraintViolation;
import jakarta.validation.Validation;
import jakarta.validation.Validator;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.springframework.amqp.rabbit.connection.CachingConnectionFactory;
import org.springframework.test.util.ReflectionTestUtils;

class RabbitmqAddressesTest {

  private final Validator validator = Validation.buildDefaultValidatorFactory().getValidator();

  @Test
  void withoutAddressesQuarryConnectsToHostAndPort() {
    assertThat(rabbit("").connectionAddresses()).isEqualTo("broker.example:5671");
    assertThat(rabbit(null).connectionAddresses()).isEqualTo("broker.example:5671");
  }

  @Test
  void theAddressesOfAClusterWinOverHostAndPort() {
    Rabbitmq rabbit = rabbit(" node1:5672,node2:5673, node3:5674 ");

    assertThat(rabbit.connectionAddresses()).isEqualTo("node1:5672,node2:5673, node3:5674");
    assertThat(violations(rabbit)).isEmpty();
    assertThat(rabbit.toString()).contains("node1:5672,node2:5673").doesNotContain("secret");
  }

  @Test
  void anAddressWithoutPortOrAnEmptyEntryIsRefused() {
    assertThat(violations(rabbit("node1,node2:5672")))
        .extracting(v -> v.getPropertyPath().toString())
        .containsExactly("addresses");
    assertThat(violations(rabbit("node1:5672,,node2:5672"))).hasSize(1);
  }

  @Test
  void bothConnectionsOfQuarryGetEveryAddress() {
    QuarryProperties properties =
        new QuarryProperties(
            "qa",
            null,
            rabbit("127.0.0.1:5781,127.0.0.1:5782"),
            null,
            null,
            Map.of(),
            null,
            Map.of(),
            null,
            null,
            null,
            null);
    RabbitConfig.ConsumerThreads threads = new RabbitConfig().consumerThreads();
    CachingConnectionFactory factory =
        new RabbitConfig().rabbitConnectionFactory(properties, threads);
    try {
      assertThat(addressesOf(factory)).containsExactly("127.0.0.1:5781", "127.0.0.1:5782");
      assertThat(addressesOf(factory.getPublisherConnectionFactory()))
          .containsExactly("127.0.0.1:5781", "127.0.0.1:5782");
    } finally {
      factory.destroy();
      threads.destroy();
    }
  }

  private static List<String> addressesOf(Object factory) {
    List<?> addresses = (List<?>) ReflectionTestUtils.getField(factory, "addresses");
    return addresses.stream().map(Object::toString).toList();
  }

  private Set<ConstraintViolation<Rabbitmq>> violations(Rabbitmq rabbit) {
    return validator.validate(rabbit);
  }

  private static Rabbitmq rabbit(String addresses) {
    return new Rabbitmq(
        "broker.example",
        5671,
        "quarry",
        "secret",
        "/",
        false,
        15671,
        Duration.ofSeconds(5),
        addresses,
        "",
        QueueTypes.CLASSIC);
  }
}
