package io.quarry.support;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.ConnectionFactory;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import org.springframework.core.env.Environment;

/**
 * Direct access to the machine's RabbitMQ and PostgreSQL for tests: to check what the application
 * did from the outside (over AMQP, the management API or SQL), never through the application's own
 * beans or configuration objects.
 */
public final class Services {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final String rabbitHost;
  private final int rabbitPort;
  private final String rabbitUser;
  private final String rabbitPassword;
  private final int managementPort;
  private final String jdbcUrl;
  private final String dbUser;
  private final String dbPassword;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private Services(Environment env) {
    rabbitHost = env.getProperty("quarry.rabbitmq.host", "127.0.0.1");
    rabbitPort = env.getProperty("quarry.rabbitmq.port", Integer.class, 5672);
    rabbitUser = env.getProperty("quarry.rabbitmq.username", "guest");
    rabbitPassword = env.getProperty("quarry.rabbitmq.password", "guest");
    managementPort = env.getProperty("quarry.test.rabbitmq-management-port", Integer.class, 15672);
    jdbcUrl =
        "jdbc:postgresql://"
            + env.getProperty("quarry.database.host", "127.0.0.1")
            + ":"
            + env.getProperty("quarry.database.port", "5432")
            + "/"
            + env.getProperty("quarry.database.name", "postgres");
    dbUser = env.getProperty("quarry.database.username", "postgres");
    dbPassword = env.getProperty("quarry.database.password", "");
  }

  public static Services from(Environment environment) {
    return new Services(environment);
  }

  public Connection jdbc() throws SQLException {
    return DriverManager.getConnection(jdbcUrl, dbUser, dbPassword);
  }

  /** A Spring AMQP connection factory to the broker, with confirms and returns as Quarry's. */
  public org.springframework.amqp.rabbit.connection.CachingConnectionFactory springAmqp() {
    var factory =
        new org.springframework.amqp.rabbit.connection.CachingConnectionFactory(
            rabbitHost, rabbitPort);
    factory.setUsername(rabbitUser);
    factory.setPassword(rabbitPassword);
    factory.setPublisherConfirmType(
        org.springframework.amqp.rabbit.connection.CachingConnectionFactory.ConfirmType.CORRELATED);
    factory.setPublisherReturns(true);
    return factory;
  }

  public com.rabbitmq.client.Connection amqp() throws IOException, TimeoutException {
    ConnectionFactory factory = new ConnectionFactory();
    factory.setHost(rabbitHost);
    factory.setPort(rabbitPort);
    factory.setUsername(rabbitUser);
    factory.setPassword(rabbitPassword);
    // No automatic recovery: a test connection that lived through a broker restart would otherwise
    // re-declare its queues later, behind the test's cleanup. Tests reconnect explicitly.
    factory.setAutomaticRecoveryEnabled(false);
    return factory.newConnection("quarry-test");
  }

  /** The management API's view of a queue, or empty if the broker has no such queue. */
  public Optional<Map<String, Object>> queue(String name) {
    return getJson("/api/queues/%2F/" + encode(name), new TypeReference<Map<String, Object>>() {});
  }

  public Optional<Map<String, Object>> exchange(String name) {
    return getJson(
        "/api/exchanges/%2F/" + encode(name), new TypeReference<Map<String, Object>>() {});
  }

  public List<Map<String, Object>> bindingsOf(String queue) {
    return getJson(
            "/api/queues/%2F/" + encode(queue) + "/bindings",
            new TypeReference<List<Map<String, Object>>>() {})
        .orElse(List.of());
  }

  /** Names of every queue or exchange (kind = "queues" or "exchanges") ending with -suffix. */
  public List<String> namesEndingWith(String kind, String suffix) {
    return getJson(
            "/api/" + kind + "/%2F?columns=name", new TypeReference<List<Map<String, Object>>>() {})
        .orElse(List.of())
        .stream()
        .map(m -> (String) m.get("name"))
        .filter(n -> n.endsWith("-" + suffix))
        .toList();
  }

  /** Removes a test environment: its schema and every queue and exchange with its suffix. */
  public void dropEnvironment(Environment environment) throws Exception {
    String name = environment.getProperty("quarry.environment");
    if (name == null || !name.startsWith("it")) {
      return; // never touch a non-test environment
    }
    deleteBusEntities(name);
    try (Connection c = jdbc();
        Statement s = c.createStatement()) {
      s.execute("drop schema if exists " + name + " cascade");
    }
  }

  public void deleteBusEntities(String suffix) throws IOException, TimeoutException {
    try (com.rabbitmq.client.Connection connection = amqp()) {
      for (String queue : namesEndingWith("queues", suffix)) {
        try (Channel channel = connection.createChannel()) {
          channel.queueDelete(queue);
        }
      }
      for (String exchange : namesEndingWith("exchanges", suffix)) {
        try (Channel channel = connection.createChannel()) {
          channel.exchangeDelete(exchange);
        }
      }
    }
  }

  private <T> Optional<T> getJson(String path, TypeReference<T> type) {
    String auth =
        Base64.getEncoder()
            .encodeToString((rabbitUser + ":" + rabbitPassword).getBytes(StandardCharsets.UTF_8));
    HttpRequest request =
        HttpRequest.newBuilder(URI.create("http://" + rabbitHost + ":" + managementPort + path))
            .header("Authorization", "Basic " + auth)
            .timeout(Duration.ofSeconds(10))
            .build();
    try {
      HttpResponse<String> response = send(request);
      if (response.statusCode() == 404) {
        return Optional.empty();
      }
      if (response.statusCode() != 200) {
        throw new IllegalStateException(
            "RabbitMQ management API answered " + response.statusCode() + " for " + path);
      }
      return Optional.of(JSON.readValue(response.body(), type));
    } catch (IOException e) {
      throw new IllegalStateException(
          "RabbitMQ management API unreachable on port "
              + managementPort
              + " (rabbitmq-plugins enable rabbitmq_management): "
              + e.getMessage(),
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static String encode(String name) {
    return URLEncoder.encode(name, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /**
   * Sends a request to the management API, again up to twice when the connection broke under it: a
   * kept-alive connection the broker closed answers "EOF reached while reading", which says nothing
   * about the broker.
   */
  private HttpResponse<String> send(HttpRequest request) throws IOException, InterruptedException {
    for (int attempt = 1; ; attempt++) {
      try {
        return http.send(request, HttpResponse.BodyHandlers.ofString());
      } catch (IOException e) {
        if (attempt == 3) {
          throw e;
        }
      }
    }
  }
}
