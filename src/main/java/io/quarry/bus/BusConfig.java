package io.quarry.bus;

import io.quarry.config.QuarryProperties;
import org.springframework.amqp.rabbit.connection.CachingConnectionFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The bus topology, declared while the context starts, before Camel starts any route. */
@Configuration(proxyBeanMethods = false)
public class BusConfig {

  @Bean
  public Topology topology(QuarryProperties properties, BusNames names) {
    return Topology.of(properties, names);
  }

  @Bean
  public TopologyDeclarer topologyDeclarer(
      CachingConnectionFactory rabbitConnectionFactory, Topology topology) {
    return new TopologyDeclarer(rabbitConnectionFactory, topology);
  }
}
