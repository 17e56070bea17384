package io.quarry.config;

import com.rabbitmq.client.ConnectionFactory;
import java.security.KeyManagementException;
import java.security.KeyStore;
import java.security.KeyStoreException;
import java.security.NoSuchAlgorithmException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.springframework.amqp.rabbit.connection.CachingConnectionFactory;
import org.springframework.amqp.rabbit.core.RabbitTemplate;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Primary;

/**
 * The broker connections from {@code quarry.rabbitmq}: one for consumers and a separate one for
 * publishers (a blocked publisher must never stall consumers during a broker resource alarm), with
 * correlated publisher confirms and returns. Both go to the first of {@code addresses} that
 * answers; when that node goes, the next connection (opened as soon as a channel is asked for, or
 * by a listener container's recovery) goes to another.
 */
@Configuration(proxyBeanMethods = false)
public class RabbitConfig {

  @Bean(destroyMethod = "destroy")
  @Primary
  public CachingConnectionFactory rabbitConnectionFactory(
      QuarryProperties properties, ConsumerThreads consumerThreads) {
    CachingConnectionFactory factory =
        new CachingConnectionFactory(amqpConnectionFactory(properties.rabbitmq()));
    // Passed on to the publisher connection's factory as well (AbstractConnectionFactory).
    factory.setAddresses(properties.rabbitmq().connectionAddresses());
    factory.setConnectionNameStrategy(cf -> "quarry-" + properties.environment());
    // Camel's listener container runs each consumer on the connection's dispatch pool, which
    // amqp-client sizes to the processors (2 here): every consumer gets a thread of its own.
    factory.setExecutor(consumerThreads.executor);
    factory.setPublisherConfirmType(CachingConnectionFactory.ConfirmType.CORRELATED);
    factory.setPublisherReturns(true);
    factory.setChannelCacheSize(32);
    // Spring hands this factory the event publisher and it passes it on to its publisher factory,
    // so the broker's blocked notices of both connections reach BrokerPublishing (readiness).
    return factory;
  }

  @Bean
  public RabbitTemplate rabbitTemplate(CachingConnectionFactory connectionFactory) {
    RabbitTemplate template = new RabbitTemplate(connectionFactory);
    template.setUsePublisherConnection(true);
    template.setMandatory(true);
    return template;
  }

  @Bean
  ConsumerThreads consumerThreads() {
    return new ConsumerThreads();
  }

  /**
   * The threads that run listener code, one per busy consumer; not an {@code Executor} bean, so
   * that Spring's own task executor is left alone.
   */
  static final class ConsumerThreads implements DisposableBean {
    private final AtomicInteger count = new AtomicInteger();
    final ExecutorService executor =
        Executors.newCachedThreadPool(
            task -> {
              Thread thread = new Thread(task, "amqp-consumer-" + count.incrementAndGet());
              thread.setDaemon(true);
              return thread;
            });

    @Override
    public void destroy() {
      executor.shutdown();
    }
  }

  static ConnectionFactory amqpConnectionFactory(QuarryProperties.Rabbitmq rabbit) {
    ConnectionFactory factory = new ConnectionFactory();
    factory.setHost(rabbit.host());
    factory.setPort(rabbit.port());
    factory.setUsername(rabbit.username());
    factory.setPassword(rabbit.password());
    factory.setVirtualHost(rabbit.virtualHost());
    factory.setAutomaticRecoveryEnabled(false); // CachingConnectionFactory reconnects itself
    if (rabbit.tls()) {
      factory.useSslProtocol(verifyingSslContext());
      factory.enableHostnameVerification();
    }
    return factory;
  }

  /** TLS that trusts the JVM's trust store (javax.net.ssl.trustStore), never everything. */
  private static SSLContext verifyingSslContext() {
    try {
      TrustManagerFactory trust =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trust.init((KeyStore) null);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, trust.getTrustManagers(), null);
      return context;
    } catch (NoSuchAlgorithmException | KeyStoreException | KeyManagementException e) {
      throw new InvalidConfigurationException(
          "quarry.rabbitmq.tls", "is on but no TLS context could be built: " + e.getMessage());
    }
  }
}
