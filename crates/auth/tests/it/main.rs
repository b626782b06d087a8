mod web_config;
