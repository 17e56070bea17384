package io.quarry.web;

import io.quarry.config.QuarryProperties;
import jakarta.servlet.DispatcherType;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.security.web.firewall.HttpFirewall;
import org.springframework.security.web.firewall.RequestRejectedHandler;
import org.springframework.security.web.firewall.StrictHttpFirewall;

/**
 * The filters that turn malformed requests into 4xx problem bodies before anything else sees them.
 * Both run after the character encoding and HTTP metrics filters (so refused requests are counted)
 * and before Spring Security's filter chain (order -100).
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
public class RequestGuards {

  /** Also used by Spring Security's own filter chain for what its firewall refuses. */
  @Bean
  RequestRejectedHandler requestRejectedHandler() {
    return new ProblemRequestRejectedHandler();
  }

  @Bean
  FilterRegistrationBean<MalformedRequestFilter> malformedRequestFilter(
      ObjectProvider<HttpFirewall> firewall, RequestRejectedHandler rejected) {
    var registration =
        new FilterRegistrationBean<>(
            new MalformedRequestFilter(firewall.getIfAvailable(StrictHttpFirewall::new), rejected));
    registration.setOrder(Ordered.HIGHEST_PRECEDENCE + 10);
    registration.setDispatcherTypes(DispatcherType.REQUEST);
    return registration;
  }

  @Bean
  FilterRegistrationBean<RequestBodyLimitFilter> requestBodyLimitFilter(
      QuarryProperties properties) {
    var registration =
        new FilterRegistrationBean<>(
            new RequestBodyLimitFilter(properties.http().maxRequestBody()));
    registration.setOrder(Ordered.HIGHEST_PRECEDENCE + 20);
    registration.setDispatcherTypes(DispatcherType.REQUEST);
    return registration;
  }
}
