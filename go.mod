module github.com/eventsim/eventsim

go 1.26.8

require github.com/xeipuuv/gojsonschema v1.2.0

require (
	github.com/brianvoe/gofakeit/v6 v6.28.0 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/stretchr/testify v1.9.0 // indirect
	github.com/xeipuuv/gojsonpointer v0.0.0-20180127040702-4e3ac2762d5f // indirect
	github.com/xeipuuv/gojsonreference v0.0.0-20180127040603-bd5ef7bd5415 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
)
